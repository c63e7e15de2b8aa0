"""``ai-how store backup|restore|check``: the event store, which is ai-how's whole truth, copied
while in use and put back verified.

A backup is one tar file, 0600: ``manifest.json`` (format, backend, event count, the events
file's sha256, the digest of the views its log gives) and ``events.sqlite`` (a consistent copy,
see ``StoreFiles``), and ``keys/`` only when asked for (the file then holds secrets). A restore
goes into an empty store; it checks the file against its manifest first, then loads the events,
runs ``audit verify`` and rebuilds the views, which must equal those of the backup.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import EventStore, StoreFiles, Views
from ai_how.app.readside.audit import verify as verify_log
from ai_how.app.readside.views import rebuild
from ai_how.app.safe_tar import extract_all

FORMAT = "ai-how-store-backup/1"
MANIFEST, EVENTS, KEYS = "manifest.json", "events.sqlite", "keys"
Opened = Callable[[Path], tuple[EventStore, Views]]  # an SQLite store and views in a folder


class BackupRefused(UsageError):
    """A backup or restore that cannot be made as asked (exit 2): what to do instead is in it."""


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def views_digest(views: Views) -> str:
    """The views' rows and position as one digest: two builds from one log give the same."""
    return hashlib.sha256(json.dumps(views.dump(), sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class BackupReport:
    path: str
    sha256: str
    size: int
    events: int
    backend: str
    views_digest: str
    with_keys: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _digest_of_copy(copy: Path, opened: Opened) -> str:
    """Folded from a second copy: opening a store may change its file (SQLite's journal mode)."""
    replay = copy.parent / "replay"
    replay.mkdir()
    shutil.copyfile(copy, replay / EVENTS)
    store, views = opened(replay)
    try:
        rebuild(store, views)
        return views_digest(views)
    finally:
        store.close()
        views.close()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    archive.addfile(info, io.BytesIO(data))


def backup(files: StoreFiles, target: Path, opened: Opened, keys: Path | None) -> BackupReport:
    """Write the backup to ``target`` (refusing an existing file); ``keys``: the state
    directory's keys folder, to include. Made beside the target and renamed into place, so a
    full disk leaves no half-written file under its name."""
    started = time.monotonic()
    if target.exists():
        raise BackupRefused(f"{target} exists; give another file name (a backup never writes over a file)")
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} is not a folder; create it or give another path")
    if not files.event_count():
        raise BackupRefused("the event store holds no events yet: there is nothing to back up (is --state-dir or "
                            "--event-store the one you use?)")
    work = Path(tempfile.mkdtemp(prefix=".ai-how-backup-", dir=target.parent))
    partial = target.with_name(f".{target.name}.partial")
    try:
        copy = work / EVENTS
        count = files.copy_to(copy)
        digest = _digest_of_copy(copy, opened)
        manifest = {"format": FORMAT, "backend": files.backend, "events": count, "events_sha256": _sha256(copy),
                    "views_digest": digest, "with_keys": keys is not None,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w") as archive:
            _add(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
            archive.add(copy, EVENTS, filter=_private)
            if keys is not None and keys.is_dir():
                archive.add(keys, KEYS, filter=_private)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        if exc.errno == errno.ENOSPC:
            raise BackupRefused(f"no space left on {target.parent} for the backup; nothing was written: free some, "
                                "or give a file on another disk") from None
        raise BackupRefused(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupReport(str(target), _sha256(target), target.stat().st_size, count, files.backend,
                        str(manifest["views_digest"]), keys is not None, time.monotonic() - started)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o700 if info.isdir() else 0o600
    return info


@dataclass
class RestoreReport:
    events: int
    backend: str
    views_digest: str
    checked: int  # events audit verify replayed
    keys: str  # restored | kept (the state directory has its own) | none in the backup
    moved_aside: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unpack(archive: Path, into: Path) -> dict[str, Any]:
    """The manifest, after the archive's events file (extracted into ``into``) matched it."""
    not_ours = f"{archive} is not an ai-how store backup"
    if not archive.is_file():
        raise BackupRefused(f"{archive}: no such file")
    try:
        with tarfile.open(archive, mode="r") as tar:
            names = tar.getnames()
            if MANIFEST not in names or EVENTS not in names:
                raise BackupRefused(f"{not_ours} (it has no {MANIFEST} and {EVENTS}); give a file 'ai-how store "
                                    "backup' wrote")
            extract_all(tar, into)
    except (tarfile.TarError, EOFError, OSError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise BackupRefused(f"{not_ours}, or it is truncated or damaged ({reason}); use another backup") from None
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except ValueError:
        raise BackupRefused(f"{not_ours}: its {MANIFEST} is not JSON") from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"{archive} is a backup of format {manifest.get('format')!r}; this ai-how reads {FORMAT}")
    if _sha256(into / EVENTS) != manifest.get("events_sha256"):
        raise BackupRefused(f"{archive}'s events file does not match its manifest (damaged); use another backup")
    return manifest


def _keys(unpacked: Path, state_dir: Path, notes: list[str]) -> str:
    source, target = unpacked / KEYS, state_dir / KEYS
    if not source.is_dir():
        return "none in the backup"
    if target.is_dir() and any(target.iterdir()):
        notes.append(f"the backup's keys were not restored: {target} has keys of its own, kept")
        return "kept"
    shutil.copytree(source, target, dirs_exist_ok=True)
    for path in [target, *target.rglob("*")]:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    return "restored"


def restore(archive: Path, files: StoreFiles, state_dir: Path, opened: Callable[[], tuple[EventStore, Views]],
            force: bool = False) -> RestoreReport:
    """Into an empty store; ``force`` first moves a store that is not empty out of the way
    (where the backend can: SQLite's files), and says where."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # its keys; the store may be a server's
    work = Path(tempfile.mkdtemp(prefix=".ai-how-restore-", dir=state_dir))
    try:
        manifest = _unpack(archive, work)
        moved = None
        if files.event_count():
            if not force:
                raise BackupRefused(f"the event store of {state_dir} already holds {files.event_count()} events; "
                                    "restore into an empty state directory (--state-dir), or give --force to "
                                    "move this one aside first")
            moved = files.move_aside()
        count = files.load_from(work / EVENTS)
        notes: list[str] = []
        keys = _keys(work, state_dir, notes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    store, views = opened()
    try:
        checked, violations = verify_log(store)
        rebuild(store, views)
        digest = views_digest(views)
    finally:
        store.close()
        views.close()
    if count != manifest["events"]:
        raise BackupRefused(f"the backup holds {manifest['events']} events but {count} were restored")
    if violations:
        raise BackupRefused(f"the restored log breaks a rule ({violations[0]}); 'ai-how audit verify' lists them")
    if digest != manifest["views_digest"]:
        raise BackupRefused("the views rebuilt from the restored log differ from the backup's: the restore is not "
                            "the store that was backed up")
    return RestoreReport(count, files.backend, digest, checked, keys, moved, notes)


@dataclass
class CheckReport:
    backend: str
    events: int
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(files: StoreFiles, store: EventStore) -> CheckReport:
    """The backend's own integrity check, then ``audit verify`` of the whole log."""
    problems = [f"{files.backend}: {p}" for p in files.integrity()]
    count, violations = verify_log(store)
    return CheckReport(files.backend, count, problems + [f"audit: {v}" for v in violations])
