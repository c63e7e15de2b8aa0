"""Application layer: composition root, command bus, handlers, ports, config and the CLI."""
