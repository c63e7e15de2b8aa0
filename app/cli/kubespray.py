"""``ai-how kubespray setup|show``: the Kubespray checkout that deploys the Cloud cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import console, handles_errors, print_json, state
from .options import JsonFlag

kubespray_app = typer.Typer(help="The Kubespray checkout that deploys the Cloud cluster: setup, show.",
                            no_args_is_help=True)


def checkout(flag: Optional[Path], parsed: Any = None) -> Any:
    """The checkout the flag, AI_HOW_KUBESPRAY_DIR or the config's global.kubespray.path names."""
    from ai_how.app.deploy.kubespray.checkout import locate, read_checkout

    configured = parsed.global_.kubespray.path if parsed is not None else None
    return read_checkout(locate(flag, os.environ, configured))


def venvs(ctx: typer.Context) -> Path:
    """Where Kubespray's venvs are: ``AI_HOW_KUBESPRAY_VENV_DIR``, else under the state directory."""
    from ai_how.app.settings import resolve_kubespray_venvs, resolve_state_dir

    return resolve_kubespray_venvs(resolve_state_dir(state(ctx).state_dir, os.environ), os.environ)


@kubespray_app.command("setup")
@handles_errors
def kubespray_setup(
        ctx: typer.Context,
        directory: Annotated[Path, typer.Argument(help="The Kubespray checkout.", show_default=False)],
        rebuild: Annotated[bool, typer.Option("--rebuild", help="Make the venv anew even if one was made for "
                                                                "this requirements.txt.")] = False) -> None:
    """Make the checkout's own virtual environment (its requirements.txt) under the state directory
    (or AI_HOW_KUBESPRAY_VENV_DIR); one made whole for the same requirements is used again."""
    from ai_how.app.deploy.kubespray.checkout import setup

    found = checkout(directory)
    binary = setup(found, venvs(ctx), state(ctx).kubespray_installer(),
                   lambda line: typer.echo(f"kubespray: {line}", err=True), rebuild)
    console().print(f"Kubespray {found.version} at {found.path} is ready: {binary}")


@kubespray_app.command("show")
@handles_errors
def kubespray_show(
        ctx: typer.Context,
        directory: Annotated[Optional[Path], typer.Argument(help="The checkout (default: AI_HOW_KUBESPRAY_DIR).")]
        = None,
        json_output: JsonFlag = False) -> None:
    """The checkout's release, the Kubernetes versions it ships and whether its venv is made."""
    found = checkout(directory)
    venv, ready = found.venv(venvs(ctx)), found.made(venvs(ctx))
    if json_output:
        print_json({"path": str(found.path), "version": found.version,
                    "kube_versions": list(found.kube_versions), "venv": str(venv), "ready": ready})
        return
    console().print(f"Kubespray {found.version} at {found.path}\n"
                    f"Kubernetes {found.kube_versions[-1]} to {found.kube_versions[0]} "
                    f"(default {found.kube_versions[0]})\n"
                    f"venv: {venv} ({'ready' if ready else 'not made: ai-how kubespray setup ' + str(found.path)})")
