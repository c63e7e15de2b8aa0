"""The application layer.

At its top, the spine every capability leans on: ``bootstrap`` (the composition root, the one
module that knows the adapters), ``bus`` (commands to handlers, events to sagas), ``ports``
(the Protocols adapters implement), ``store`` (the event-sourced store), ``settings``,
``errors`` and ``faults`` (crash points for tests). Below it one package per capability:
``config``, ``lifecycle``, ``readside``, ``host``, and ``cli`` on top of them all.
"""
