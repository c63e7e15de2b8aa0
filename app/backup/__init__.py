"""Copies of what ai-how keeps: the event store (store backup|restore|check)."""
