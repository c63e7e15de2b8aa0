"""``ai-how store``: the event store backed up while in use, restored verified, checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .common import EXIT_REFUSED, console, handles_errors, print_json, state
from .options import JsonFlag

store_app = typer.Typer(help="The event store: backup, restore, check.", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="The backup file.", show_default=False)]


@store_app.command("backup")
@handles_errors
def backup(ctx: typer.Context, file: FileArg,
           with_keys: Annotated[bool, typer.Option(
               "--with-keys", help="Also the keys/ folder (SSH, MUNGE): the file then holds secrets.")] = False,
           json_output: JsonFlag = False) -> None:
    """A consistent copy of the event store while other ai-how processes write, 0600, with its digest."""
    from ai_how.app.backup.store_backup import backup as make_backup
    from ai_how.app.bootstrap import opened_store, store_files

    cli = state(ctx)
    state_dir, files = store_files(cli.state_dir, os.environ, cli.event_store)
    report = make_backup(files, file.absolute(), lambda folder: opened_store(folder, {}),
                         state_dir / "keys" if with_keys else None)
    if with_keys:
        typer.echo(f"warning: {file} holds the keys of {state_dir / 'keys'} (secrets): keep it as you keep them",
                   err=True)
    if json_output:
        print_json(report.as_dict())
        return
    console().print(f"backed up {report.events} events ({report.backend}) to {report.path}: "
                    f"{report.size / 1024:,.0f} KiB, sha256 {report.sha256}, in {report.seconds:.1f} s", soft_wrap=True)


@store_app.command("restore")
@handles_errors
def restore(ctx: typer.Context, file: FileArg,
            force: Annotated[bool, typer.Option(
                "--force", help="Move a store that is not empty aside first (SQLite), instead of refusing.")] = False,
            json_output: JsonFlag = False) -> None:
    """Into an empty store: the file checked, the events loaded, audit verify, the views rebuilt."""
    from ai_how.app.backup.store_backup import restore as restore_backup
    from ai_how.app.bootstrap import opened_store, store_files

    cli = state(ctx)
    state_dir, files = store_files(cli.state_dir, os.environ, cli.event_store)
    report = restore_backup(file.absolute(), files, state_dir,
                            lambda: opened_store(state_dir, os.environ, cli.event_store), force)
    if json_output:
        print_json(report.as_dict())
        return
    out = console()
    if report.moved_aside:
        out.print(f"moved the store that was there aside: {report.moved_aside}", soft_wrap=True)
    out.print(f"restored {report.events} events into {state_dir} ({report.backend}); audit verify passed over "
              f"{report.checked} events; the views rebuilt equal the backup's; keys: {report.keys}", soft_wrap=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)


@store_app.command("check")
@handles_errors
def check(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """The backend's integrity check and audit verify; exit 1 listing what is wrong."""
    from ai_how.app.backup.store_backup import check as check_store
    from ai_how.app.bootstrap import store_files

    cli = state(ctx)
    _, files = store_files(cli.state_dir, os.environ, cli.event_store)
    report = check_store(files, cli.store())
    if json_output:
        print_json(report.as_dict())
    elif not report.problems:
        console().print(f"the event store is sound: {report.backend} integrity check passed; audit verify passed "
                        f"over {report.events} events", soft_wrap=True)
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    if report.problems:
        raise typer.Exit(EXIT_REFUSED)
