"""A file a user names is read only when it is a regular file of sensible size."""

from __future__ import annotations

import os

import pytest

from ai_how.app.user_files import UnreadableFile, read_text


@pytest.mark.parametrize("make, said, wrong_path, too_big", [
    (lambda p: p.mkdir(), "is a directory, not a file", True, False),
    (lambda p: os.mkfifo(p), "is not a regular file", True, False),
    (lambda p: p.write_bytes(b"x" * 11), "is 11 bytes, more than the 10 this takes", False, True),
    (lambda p: None, "file not found", True, False),
    (lambda p: p.write_bytes(b"\xe9t\xe9"), "is not UTF-8 text", False, False),
])
def test_what_is_not_a_small_text_file_is_refused_by_what_it_is(tmp_path, make, said, wrong_path, too_big) -> None:
    path = tmp_path / "given"
    make(path)
    with pytest.raises(UnreadableFile, match=said) as refused:
        read_text(path, 10)
    assert (refused.value.wrong_path, refused.value.too_big) == (wrong_path, too_big)


def test_a_small_text_file_is_read(tmp_path) -> None:
    (tmp_path / "given").write_text("clusters: {}\n")
    assert read_text(tmp_path / "given", 100) == "clusters: {}\n"
