"""One shared libvirt connection per URI, and libvirt errors translated into ours.

The test driver (``test:///path.xml``) keeps its state per connection, so every command in
one process must use the same connection to see what the previous one did.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ai_how.app.errors import InfrastructureError


class HypervisorError(InfrastructureError):
    """libvirt refused or failed an operation."""


_connections: dict[str, Any] = {}
_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Close while the libvirt module still exists: a connection left to the interpreter's
    teardown prints 'Exception ignored in virConnect.__del__' on the way out."""
    with _lock:
        for conn in _connections.values():
            try:
                conn.close()
            except Exception:  # closing at exit: nothing left to tell the user
                pass
        _connections.clear()


def libvirt_module() -> Any:
    import libvirt

    # libvirt prints every error to stderr by default; we report them ourselves.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def connect(uri: str) -> Any:
    with _lock:
        conn = _connections.get(uri)
        if conn is not None and conn.isAlive():
            return conn
        lv = libvirt_module()
        try:
            conn = lv.open(uri)
        except lv.libvirtError as exc:
            raise HypervisorError(
                f"cannot connect to libvirt at {uri}: {exc.get_error_message()}; is libvirtd running? "
                "(systemctl start libvirtd, or scripts/libvirt-up.sh) Choose another URI with --libvirt-uri"
            ) from None
        _connections[uri] = conn
        return conn


def error_code(exc: Exception) -> int | None:
    get = getattr(exc, "get_error_code", None)
    return get() if get else None


def find(lookup: Callable[[str], Any], name: str, missing: str) -> Any | None:
    """``lookup(name)``, or None where libvirt answers that there is no such object.

    ``missing`` names the error that means "absent", e.g. ``VIR_ERR_NO_DOMAIN``.
    """
    lv = libvirt_module()
    try:
        return lookup(name)
    except lv.libvirtError as exc:
        if error_code(exc) == getattr(lv, missing):
            return None
        raise


@contextmanager
def libvirt_errors(action: str) -> Iterator[None]:
    lv = libvirt_module()
    try:
        yield
    except lv.libvirtError as exc:
        raise HypervisorError(f"{action}: {exc.get_error_message()}") from None
