"""The SSH command lines ai-how runs: one shared connection per guest and pinned key, in a folder
only the user can enter; a changed pin, an unpinned host or an unsafe folder never share one; a
connection left over by a guest that went away is closed before its next boot is awaited.
(On real guests: tests/integration/test_guests.py.)"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_how.adapters.ssh import shared_connections
from ai_how.adapters.ssh.client import SshGuests
from ai_how.adapters.ssh.keys import SshKeys


@pytest.fixture
def short_tmp(monkeypatch) -> Iterator[Path]:
    """A temporary directory as short as a user's /tmp (pytest's own can be too long for a socket)."""
    folder = Path(tempfile.mkdtemp(prefix="ssh-", dir="/tmp"))
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def guests(tmp_path: Path, short_tmp: Path) -> SshGuests:
    keys = SshKeys(tmp_path / "state")
    keys.pin("vm-a", ["vm-a", "10.0.0.10"])
    keys.pin("vm-b", ["vm-b", "10.0.0.11"])
    return SshGuests(keys)


def _option(argv: list[str], name: str) -> str:
    values = [argv[i + 1].split("=", 1)[1] for i, word in enumerate(argv[:-1])
              if word == "-o" and argv[i + 1].startswith(f"{name}=")]
    assert len(values) == 1, argv
    return values[0]


def test_commands_to_one_guest_share_a_connection_in_the_users_own_folder(guests: SshGuests, short_tmp: Path) -> None:
    first = guests.argv("aihow", "vm-a", ["hostname"])
    again = guests.argv("aihow", "vm-a", ["sinfo"], tty=True)
    path = _option(first, "ControlPath")
    assert _option(first, "ControlMaster") == "auto" and _option(first, "ControlPersist") == "120"
    assert _option(again, "ControlPath") == path
    folder = Path(path).parent
    assert folder == short_tmp / f"ai-how-ssh-{os.geteuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert _option(guests.argv("aihow", "vm-b", ["hostname"]), "ControlPath") != path
    assert _option(guests.argv("root", "vm-a", ["hostname"]), "ControlPath") != path
    assert first[-3:] == ["--", "aihow@vm-a", "hostname"]


def test_a_changed_pin_opens_a_connection_of_its_own(guests: SshGuests) -> None:
    before = _option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath")
    guests.keys.forget("vm-a")
    guests.keys.pin("vm-a", ["vm-a", "10.0.0.10"])  # a new host key: the VM was made again
    assert _option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath") != before


def test_an_unpinned_host_or_a_folder_others_can_enter_shares_nothing(guests: SshGuests, short_tmp: Path,
                                                                     tmp_path: Path) -> None:
    unpinned = guests.argv("aihow", "vm-z", ["true"])
    assert (_option(unpinned, "ControlMaster"), _option(unpinned, "ControlPath")) == ("no", "none")
    folder = short_tmp / f"ai-how-ssh-{os.geteuid()}"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert _option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath") == "none"
    folder.rmdir()
    folder.symlink_to(tmp_path)
    assert _option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath") == "none"


def test_a_connection_nobody_answers_on_is_gone_before_the_next_boot_is_awaited(guests: SshGuests) -> None:
    path = Path(_option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath"))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.close()  # what a master killed with its guest leaves behind
    assert path.exists()
    shared_connections.hang_up(path, "vm-a")
    assert not path.exists()
    probe = guests.argv("aihow", "vm-a", ["test", "-e", "/x"], shared=False)
    assert _option(probe, "ControlPath") == "none"


def test_a_temporary_directory_too_long_for_openssh_s_socket_shares_nothing(guests: SshGuests, short_tmp: Path,
                                                                            monkeypatch) -> None:
    """OpenSSH binds the ControlPath plus 17 characters: one byte more than MAX_PATH and every
    command through that socket would fail."""
    in_folder = len(f"/ai-how-ssh-{os.geteuid()}/") + 20
    longest = short_tmp / ("t" * (shared_connections.MAX_PATH - len(str(short_tmp)) - 1 - in_folder))
    longest.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(longest))
    assert len(_option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath")) == shared_connections.MAX_PATH
    too_long = Path(f"{longest}u")
    too_long.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(too_long))
    assert _option(guests.argv("aihow", "vm-a", ["true"]), "ControlPath") == "none"
