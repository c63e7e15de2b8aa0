"""Adapters: one module per external system. Each imports its SDK lazily."""
