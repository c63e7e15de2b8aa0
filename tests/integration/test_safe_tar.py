"""Archives from elsewhere (a guest's folder, a backup file) unpack inside their folder only:
with Python's own ``data`` filter, and with ai-how's checks where the interpreter has none
(Debian 12's Python 3.11.2), each case on both."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from ai_how.app.safe_tar import extract_all


@pytest.fixture(params=["python's filter", "ai-how's checks"])
def unpack(request, monkeypatch):
    if request.param == "ai-how's checks":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile data filter (before 3.11.4)")

    def run(members: list[tuple[tarfile.TarInfo, bytes]], into: Path) -> None:
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as archive:
            for info, content in members:
                info.size = len(content) if info.isreg() else 0
                archive.addfile(info, io.BytesIO(content) if info.isreg() else None)
        data.seek(0)
        into.mkdir(exist_ok=True)
        with tarfile.open(fileobj=data, mode="r|") as archive:
            extract_all(archive, into)

    return run


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    return info


def test_a_folder_unpacks_with_its_files_and_links_inside_and_no_set_id_bit(unpack, tmp_path: Path) -> None:
    into = tmp_path / "into"
    unpack([(_entry("model", tarfile.DIRTYPE, 0o755), b""), (_entry("model/MLmodel"), b"flavors: {}\n"),
            (_entry("model/run.sh", mode=0o4777), b"#!/bin/sh\n"),
            (_entry("model/latest", tarfile.SYMTYPE, link="MLmodel"), b"")], into)
    assert (into / "model" / "MLmodel").read_text() == "flavors: {}\n"
    assert (into / "model" / "latest").resolve() == (into / "model" / "MLmodel").resolve()
    assert stat.S_IMODE((into / "model" / "run.sh").stat().st_mode) == 0o755


def test_an_absolute_name_lands_under_the_folder(unpack, tmp_path: Path) -> None:
    unpack([(_entry("/etc/ai-how-test"), b"x")], tmp_path / "into")
    assert (tmp_path / "into" / "etc" / "ai-how-test").read_bytes() == b"x"
    assert not Path("/etc/ai-how-test").exists()


@pytest.mark.parametrize("entry, why", [
    (_entry("../escaped"), "outside"),
    (_entry("a/../../escaped"), "outside"),
    (_entry("passwd", tarfile.SYMTYPE, link="/etc/passwd"), "absolute link"),
    (_entry("up", tarfile.SYMTYPE, link="../../escaped"), "link outside"),
    (_entry("hard", tarfile.LNKTYPE, link="../escaped"), "hard link outside"),
    (_entry("disk", tarfile.BLKTYPE), "device"),
    (_entry("pipe", tarfile.FIFOTYPE), "fifo"),
])
def test_a_member_that_would_reach_outside_or_is_a_device_is_refused(unpack, tmp_path: Path, entry, why) -> None:
    with pytest.raises(tarfile.TarError):
        unpack([(entry, b"x")], tmp_path / "into")
    assert not (tmp_path / "escaped").exists(), why
    assert not any(p.is_symlink() or not p.is_dir() for p in (tmp_path / "into").rglob("*")), why
