"""The ``ai-how`` command line: one Typer sub-app per noun; each command a thin wrapper.

Owns parsing, rendering and exit codes, nothing else. Its modules import only Typer and the
standard library at the top: a command imports the capability it needs when it runs, so that
``ai-how --help`` builds no config model and opens no store. Exports ``app`` and ``main``.

``main`` builds only the part of the tree the command line names (Typer builds every command's
parameters on each run, and importing every noun's module costs as much): ``ai-how snapshot
list`` imports and builds the ``snapshot`` noun alone. ``app`` is the whole tree, as ``--help``
shows it, built on first use.

``main`` also freezes what is left for the garbage collector as the process exits: Python's
last collection would otherwise scan every object start-up made (modules, classes, functions:
some 50,000) to find nothing, about 40 ms of a command's 0.3–0.5 s on a small machine. Python
never promises ``__del__`` at exit, so nothing of ai-how's may rely on it anyway.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import CliState

# What the command line's first word names: (its module, the Typer app or command there), in help's order.
NOUNS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "validate"), "config": ("validate", "config_app"), "image": ("image", "image_app"),
    "hpc": ("hpc", "hpc_app"), "cloud": ("cloud", "cloud_app"), "vm": ("vm", "vm_app"),
    "system": ("system", "system_app"), "host": ("host", "host_app"), "plan": ("plan", "plan"),
    "reconcile": ("reconcile", "reconcile"), "topology": ("topology", "topology"), "gpu": ("gpu", "gpu_app"),
    "audit": ("audit", "audit_app"), "store": ("store", "store_app"), "snapshot": ("snapshot", "snapshot_app"),
    "kubespray": ("kubespray", "kubespray_app"), "model": ("model", "model_app"),
}
GLOBAL_OPTIONS_WITH_VALUE = ("--state-dir", "--event-store", "--libvirt-uri")
app: typer.Typer  # the whole tree: made by the module's __getattr__ when first asked for
HELP = ("Run an HPC (SLURM) and a Cloud (Kubernetes) cluster of libvirt VMs on one workstation, "
        "sharing its GPUs safely.")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ai-how {version('ai-how')}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    state_dir: Annotated[Optional[Path], typer.Option(
        "--state-dir", envvar="AI_HOW_STATE_DIR",
        help="Where the event store lives (default: $XDG_STATE_HOME/ai-how).")] = None,
    event_store: Annotated[Optional[str], typer.Option(
        "--event-store", envvar="AI_HOW_EVENT_STORE", show_envvar=True,
        help="A shared PostgreSQL store: postgresql://user:password@host:port/db[?schema=name] "
        "(default: SQLite in the state directory).")] = None,
    libvirt_uri: Annotated[Optional[str], typer.Option(
        "--libvirt-uri", envvar="AI_HOW_LIBVIRT_URI",
        help="libvirt connection (default: the config's global.libvirt_uri, else qemu:///system).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = CliState(state_dir=state_dir, libvirt_uri=libvirt_uri, event_store=event_store)
    ctx.call_on_close(ctx.obj.close)


def build(only: str | None = None) -> typer.Typer:
    """The whole tree, or the root and the noun ``only`` alone."""
    tree = typer.Typer(name="ai-how", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                       add_completion=False)
    tree.callback()(root)
    for name, (module, attr) in NOUNS.items():
        if only is None or name == only:
            part = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
            if isinstance(part, typer.Typer):
                tree.add_typer(part, name=name)
            else:
                tree.command(name)(part)
    return tree


def named_noun(args: list[str]) -> str | None:
    """The noun the command line names, once past the global options; None where the whole tree
    is needed (no noun, an unknown one, or --help and --version before it)."""
    words = iter(args)
    for word in words:
        if word in GLOBAL_OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word if word in NOUNS else None
        elif word.split("=", 1)[0] not in GLOBAL_OPTIONS_WITH_VALUE:
            return None
    return None


def __getattr__(name: str) -> Any:
    if name == "app":
        globals()["app"] = build()
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    atexit.register(gc.freeze)  # before the command registers its own: it runs after theirs (last in, first out)
    build(named_noun(sys.argv[1:]))()
