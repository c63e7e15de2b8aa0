"""Errors of the application layer, each mapped to one exit code by the CLI."""


class InfrastructureError(Exception):
    """The outside world failed: store, libvirt, sysfs, ansible (exit code 3)."""


class StoreUnavailable(InfrastructureError):
    """The event store cannot be opened, read or written."""


class StoreContention(InfrastructureError):
    """A command lost the optimistic-concurrency race too many times in a row."""


class UsageError(Exception):
    """Bad usage or bad input that no domain rule covers (exit code 2)."""


class ChecksumMismatch(InfrastructureError):
    """What a store holds after an upload is not what was sent."""
