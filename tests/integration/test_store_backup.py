"""``ai-how store backup|restore|check`` on real stores (SQLite, and PostgreSQL where the run has
it): a backup taken while eight processes lease and release one GPU restores verified, keys
travel only when asked for, and what cannot be a backup or a restore is refused in one line
with nothing written."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_how.app.bootstrap import bootstrap
from ai_how.app.cli import app
from ai_how.domain.commands import LeaseGpus, ReleaseGpus
from ai_how.domain.errors import GpuLeasedElsewhere
from tests.conftest import POSTGRES_URL, opened
from tests.fakes.sysfs import GPU_CARD, FakeKernel, build_tree

from .helpers import record_rivals

PROCESSES, BACKUPS = 8, 3


def cli(state: Path, *args: str, store: str | None = None, code: int = 0) -> object:
    """``ai-how --state-dir STATE ARGS``; ``store`` the event store's URL ('' for SQLite)."""
    env = {"AI_HOW_EVENT_STORE": store} if store is not None else {}
    result = CliRunner().invoke(app, ["--state-dir", str(state), *args], env=env, catch_exceptions=False)
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def _churn(state_dir: str, store_url: str | None, host_root: str, vm: str, stop, results) -> None:
    """Lease the one card and give it back, as an operator would, until told to stop."""
    try:
        env = {"AI_HOW_EVENT_STORE": store_url} if store_url else {}
        bus = bootstrap(state_dir, pci_host=FakeKernel(Path(host_root)), env=env)
        leased = 0
        while not stop.is_set():
            try:
                bus.handle(LeaseGpus(vm))
            except GpuLeasedElsewhere:
                continue
            leased += 1
            bus.handle(ReleaseGpus(vm, reason="done"))
        bus.close()
        results.put(("ok", vm, leased))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(("error", vm, f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_a_backup_taken_while_eight_processes_lease_and_release_restores_verified(tmp_path: Path,
                                                                                   store_backend: str) -> None:
    state = tmp_path / "state"
    with opened(state) as setup:
        vms = record_rivals(setup, PROCESSES)
    store_url = os.environ.get("AI_HOW_EVENT_STORE")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    results, stop = ctx.Queue(), ctx.Event()
    host = build_tree(tmp_path / "race-host", GPU_CARD)
    workers = [ctx.Process(target=_churn, args=(str(state), store_url, str(host), vm, stop, results)) for vm in vms]
    for worker in workers:
        worker.start()
    backups = []
    try:
        while len(backups) < BACKUPS:
            target = tmp_path / f"backup-{len(backups)}.tar"
            made = json.loads(cli(state, "store", "backup", str(target), "--json").stdout)
            backups.append((target, made))
    finally:
        stop.set()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [o for o in outcomes if o[0] == "error"] == [] and sum(o[2] for o in outcomes) > 0, outcomes

    with opened(state) as bus:
        log = [(e.aggregate_id, e.version, e.event_type) for e in bus.store.iter_log()]
    print(f"backups of {[made['events'] for _, made in backups]} events; the log ended with {len(log)}")
    counts = [made["events"] for _, made in backups]
    assert counts == sorted(counts) and counts[-1] < len(log), "each backup was taken while they wrote"
    for index, (target, made) in enumerate(backups):
        assert oct(target.stat().st_mode & 0o777) == "0o600" and made["backend"] == store_backend
        restored = tmp_path / f"restored-{index}"
        said = cli(restored, "store", "restore", str(target), store="").stdout
        assert f"restored {made['events']} events into {restored} (sqlite); audit verify passed" in said, said
        assert "the views rebuilt equal the backup's" in said
        with opened(restored, env={}) as bus:
            copied = [(e.aggregate_id, e.version, e.event_type) for e in bus.store.iter_log()]
        assert copied == log[:len(copied)], "a backup is the log as it stood at one moment"
        assert "the event store is sound" in cli(restored, "store", "check", store="").stdout
    if store_backend == "postgres":  # back into a PostgreSQL store: an empty schema
        schema = f"{POSTGRES_URL}?schema=restored_{os.getpid()}"
        try:
            said = cli(tmp_path / "pg", "store", "restore", str(backups[-1][0]), store=schema).stdout
            assert f"restored {backups[-1][1]['events']} events" in said and "(postgres)" in said
        finally:
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "restored_{os.getpid()}" CASCADE')


def _recorded(state: Path) -> None:
    with opened(state, env={}) as bus:
        record_rivals(bus, 2)


def test_keys_travel_only_when_asked_for_and_come_back_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _recorded(state)
    (state / "keys").mkdir(mode=0o700, exist_ok=True)
    (state / "keys" / "munge.key").write_bytes(b"secret-munge-key")
    os.chmod(state / "keys" / "munge.key", 0o600)

    plain = tmp_path / "plain.tar"
    cli(state, "store", "backup", str(plain), store="")
    with tarfile.open(plain) as tar:
        assert sorted(tar.getnames()) == ["events.sqlite", "manifest.json"]
    assert b"secret-munge-key" not in plain.read_bytes()

    keyed = tmp_path / "keyed.tar"
    made = cli(state, "store", "backup", str(keyed), "--with-keys", store="")
    assert f"warning: {keyed} holds the keys of {state / 'keys'} (secrets)" in made.stderr
    restored = tmp_path / "restored"
    said = cli(restored, "store", "restore", str(keyed), store="").stdout
    assert "keys: restored" in said
    key = restored / "keys" / "munge.key"
    assert key.read_bytes() == b"secret-munge-key" and oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct((restored / "keys").stat().st_mode & 0o777) == "0o700"


def test_a_store_that_is_not_empty_is_refused_and_force_moves_it_aside(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    _recorded(source)
    _recorded(target)
    backup = tmp_path / "b.tar"
    cli(source, "store", "backup", str(backup), store="")
    refused = cli(target, "store", "restore", str(backup), store="", code=2)
    assert "already holds" in refused.stderr and "--force" in refused.stderr
    forced = cli(target, "store", "restore", str(backup), "--force", store="").stdout
    aside = Path(forced.split("moved the store that was there aside: ")[1].split()[0])
    assert (aside / "events.sqlite").is_file() and aside.parent == target
    assert "audit verify passed" in forced


def test_what_is_not_a_backup_or_has_no_room_is_refused_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _recorded(state)
    good = tmp_path / "good.tar"
    cli(state, "store", "backup", str(good), store="")
    exists = cli(state, "store", "backup", str(good), store="", code=2)
    assert "exists; give another file name" in exists.stderr
    empty = cli(tmp_path / "never-used", "store", "backup", str(tmp_path / "empty.tar"), store="", code=2)
    assert "holds no events yet: there is nothing to back up" in empty.stderr and not (tmp_path / "empty.tar").exists()

    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(good.read_bytes()[:3000])
    not_tar = tmp_path / "notes.txt"
    not_tar.write_text("hello\n")
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as tar:
        tar.add(not_tar, "notes.txt")
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(good) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    with tarfile.open(tampered, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            data = data if name != "events.sqlite" else data[:-1] + bytes([data[-1] ^ 1])
            info.size = len(data)
            import io

            tar.addfile(info, io.BytesIO(data))
    for bad, why in ((truncated, "truncated or damaged"), (not_tar, "truncated or damaged"),
                     (foreign, "it has no manifest.json and events.sqlite"),
                     (tampered, "does not match its manifest (damaged)")):
        refused = cli(tmp_path / f"into-{bad.stem}", "store", "restore", str(bad), store="", code=2)
        assert why in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr

    if os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, mounted as root")
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(full)], check=True)
    try:
        refused = cli(state, "store", "backup", str(full / "b.tar"), store="", code=2)
        assert f"no space left on {full} for the backup; nothing was written" in refused.stderr, refused.stderr
        assert list(full.iterdir()) == []
    finally:
        subprocess.run(["umount", str(full)], check=True)
