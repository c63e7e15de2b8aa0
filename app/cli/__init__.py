"""The ``ai-how`` command line: one Typer sub-app per noun; each command a thin wrapper.

Owns parsing, rendering and exit codes, nothing else. Its modules import only Typer and the
standard library at the top: a command imports the capability it needs when it runs, so that
``ai-how --help`` builds no config model and opens no store. Exports ``app`` and ``main``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .audit import audit_app
from .cloud import cloud_app
from .common import CliState
from .gpu import gpu_app
from .host import host_app
from .hpc import hpc_app
from .image import image_app
from .kubespray import kubespray_app
from .model import model_app
from .plan import plan
from .reconcile import reconcile
from .snapshot import snapshot_app
from .store import store_app
from .system import system_app
from .topology import topology
from .validate import config_app, validate
from .vm import vm_app

app = typer.Typer(
    name="ai-how",
    help="Run an HPC (SLURM) and a Cloud (Kubernetes) cluster of libvirt VMs on one workstation, "
    "sharing its GPUs safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ai-how {version('ai-how')}")
        raise typer.Exit()


@app.callback()
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


app.command("validate")(validate)
app.add_typer(config_app, name="config")
app.add_typer(image_app, name="image")
app.add_typer(hpc_app, name="hpc")
app.add_typer(cloud_app, name="cloud")
app.add_typer(vm_app, name="vm")
app.add_typer(system_app, name="system")
app.add_typer(host_app, name="host")
app.command("plan")(plan)
app.command("reconcile")(reconcile)
app.command("topology")(topology)
app.add_typer(gpu_app, name="gpu")
app.add_typer(audit_app, name="audit")
app.add_typer(store_app, name="store")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(kubespray_app, name="kubespray")
app.add_typer(model_app, name="model")


def main() -> None:
    app()
