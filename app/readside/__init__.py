"""The read side: what the log means, kept as views so that reads do not grow with history.

Owns the pure fold of events into the ``Topology`` (``projection``), keeping the views caught
up and rebuilding them (``views``), the queries behind every status and list (``queries``),
the tree that ``topology`` prints (``topology``) and the log's own checks (``audit``).
Exports ``views.LiveTopology`` for the composition root and the query functions for the CLI.
Never imports the write side (``lifecycle``): it only reads what that recorded.
"""
