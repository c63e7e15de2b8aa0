"""The pure model of ai-how: aggregates, their events, commands and domain errors.

Imports only the standard library, ``eventsourcing.domain`` and pydantic.
"""
