"""``ai-how image ...``: golden images, built once per recipe."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import console, handles_errors, print_json, state
from .options import JsonFlag

image_app = typer.Typer(help="Golden images the VMs boot: build them, list them.", no_args_is_help=True)


def _size(size: int) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"


@image_app.command("build")
@handles_errors
def build(ctx: typer.Context,
          name: Annotated[str, typer.Argument(help="hpc-base or cloud-base.", show_default=False)],
          suite: Annotated[str, typer.Option("--suite", help="Debian suite: trixie (Debian 13) or bookworm.")] = "trixie",
          force: Annotated[bool, typer.Option("--force", help="Build again even if this recipe was built.")] = False,
          builder: Annotated[str, typer.Option("--with", help="mmdebstrap (offline, from the apt mirror) or "
                                                              "packer (from a Debian cloud image).")] = "mmdebstrap",
          json_output: JsonFlag = False) -> None:
    """Build a bootable qcow2 (kernel, bootloader, cloud-init, the role's packages); a recipe
    already built is reused."""
    from ai_how.domain.commands import BuildImage

    cli, out = state(ctx), console()
    if not json_output:
        cli.progress = lambda subject, message: out.print(f"{subject}: {message}")
    result = cli.bus().handle(BuildImage(name, suite, force=force, builder=builder))
    if json_output:
        print_json(result.__dict__)
        return
    verb = "reused (same recipe, already built)" if result.cached else f"built in {result.seconds:.0f} s"
    out.print(f"{result.name} ({result.suite}) {verb}: {result.path}")
    out.print(f"  sha256 {result.sha256} · {_size(result.size)} · recipe {result.recipe_digest[:12]} · "
              f"{result.builder.split('+')[0]}")


@image_app.command("list")
@handles_errors
def list_images(ctx: typer.Context,
                json_output: JsonFlag = False) -> None:
    """The images built here, newest first; a config names one with base_image: NAME."""
    from ai_how.app.images.catalogue import images

    rows = images(state(ctx).topology())
    if json_output:
        print_json(rows)
        return
    if not rows:
        console().print("No image is built here; build one with 'ai-how image build hpc-base'.")
        return
    from rich.table import Table

    table = Table("image", "suite", "recipe", "size", "sha256", "built (UTC)", "file")
    for row in rows:
        table.add_row(row["name"], row["suite"], row["recipe_digest"][:12], _size(row["size"]), row["sha256"][:16],
                      row["built_at"][:19].replace("T", " "), row["path"] if row["present"] else "[red]missing[/red]")
    console().print(table)
