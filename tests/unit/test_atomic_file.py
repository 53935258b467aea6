"""``AtomicFile``, the download target of every ``write_to``, ``download`` and ``download_many``.

Where the system can (Linux with ``O_TMPFILE``) the file has no name until it is complete;
elsewhere it has a temporary name beside the target. Each behaviour is checked in both
ways (``way``): the unnamed one where it exists, and the temporary name, forced here.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from lakefs_sdk import _atomic_file
from lakefs_sdk._atomic_file import AtomicFile
from lakefs_sdk.exceptions import ApiException

TEMP_MARK = ".lakefs-download-"


def unnamed_files_work(folder: Path) -> bool:
    """Whether this system and the file system of ``folder`` make unnamed files (``O_TMPFILE``)."""
    if not getattr(os, "O_TMPFILE", 0) or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except OSError:
        return False
    return True


@pytest.fixture(params=["unnamed", "temporary name"])
def way(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "unnamed":
        if not unnamed_files_work(tmp_path):
            pytest.skip("this system or file system makes no unnamed files (O_TMPFILE)")
    else:
        monkeypatch.setattr(_atomic_file, "_UNNAMED_FLAGS", 0)
    yield str(request.param)


def names_in(folder: Path) -> List[str]:
    return sorted(os.listdir(folder))


def test_the_target_appears_only_once_committed(way: str, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic = AtomicFile(target)
    atomic.write(b"first ")
    atomic.write(b"second")
    assert not target.exists()
    atomic.commit(200, 12, 12)
    assert target.read_bytes() == b"first second"
    assert names_in(tmp_path) == ["out.bin"]


def test_an_unnamed_file_has_no_name_in_the_folder_until_committed(tmp_path: Path) -> None:
    if not unnamed_files_work(tmp_path):
        pytest.skip("this system or file system makes no unnamed files (O_TMPFILE)")
    atomic = AtomicFile(tmp_path / "out.bin")
    atomic.write(b"bytes")
    assert names_in(tmp_path) == [], "a process killed now leaves nothing behind"
    assert atomic.temp_path is None
    atomic.commit(200, 5, 5)
    assert names_in(tmp_path) == ["out.bin"]


OLD = b"old contents, longer than the new"


@pytest.mark.parametrize("end", ["commit", "discard"])
def test_an_existing_target_changes_only_on_commit_and_then_whole(way: str, tmp_path: Path, end: str) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(OLD)
    atomic = AtomicFile(target)
    atomic.write(b"new")
    assert target.read_bytes() == OLD
    if end == "commit":
        atomic.commit(200, 3, None)
    else:
        atomic.discard()
    assert target.read_bytes() == (b"new" if end == "commit" else OLD)
    assert names_in(tmp_path) == ["out.bin"]


def test_fewer_bytes_than_announced_are_refused_and_discarded(way: str, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic = AtomicFile(target)
    atomic.write(b"half")
    with pytest.raises(ApiException, match="received 4 of 8 bytes"):
        atomic.commit(200, 4, 8)
    atomic.discard()
    assert names_in(tmp_path) == []


def test_a_folder_made_at_the_target_meanwhile_is_reported_and_nothing_is_left(way: str, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic = AtomicFile(target)
    atomic.write(b"bytes")
    target.mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        atomic.commit(200, 5, 5)
    atomic.discard()
    assert raised.value.filename == str(target) and TEMP_MARK not in str(raised.value)
    assert names_in(tmp_path) == ["out.bin"] and target.is_dir() and names_in(target) == []


def test_the_file_gets_the_mode_open_would_give(way: str, tmp_path: Path) -> None:
    atomic = AtomicFile(tmp_path / "out.bin")
    atomic.commit(200, 0, 0)
    (tmp_path / "plain.bin").write_bytes(b"")
    assert (tmp_path / "out.bin").stat().st_mode == (tmp_path / "plain.bin").stat().st_mode


def test_a_file_system_without_unnamed_files_gets_a_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not getattr(os, "O_TMPFILE", 0):
        pytest.skip("no O_TMPFILE on this system: temporary names always")
    real_open = os.open
    refused: List[int] = []

    def open_without_tmpfile(path: Any, flags: int, mode: int = 0o777) -> int:
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            refused.append(flags)
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_without_tmpfile)
    atomic = AtomicFile(tmp_path / "out.bin")
    monkeypatch.undo()
    assert refused and atomic.temp_path is not None and TEMP_MARK in os.path.basename(atomic.temp_path)
    atomic.write(b"bytes")
    atomic.commit(200, 5, 5)
    assert (tmp_path / "out.bin").read_bytes() == b"bytes" and names_in(tmp_path) == ["out.bin"]


def test_a_short_write_is_continued(way: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def three_bytes_at_most(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:3]))

    atomic = AtomicFile(tmp_path / "out.bin")
    monkeypatch.setattr(os, "write", three_bytes_at_most)
    atomic.write(b"0123456789")
    monkeypatch.undo()
    atomic.commit(200, 10, 10)
    assert (tmp_path / "out.bin").read_bytes() == b"0123456789"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_names_its_own_file(way: str, tmp_path: Path) -> None:
    # The parent names a file first, so that its way of naming files is set up before the fork.
    first = AtomicFile(tmp_path / "parent.bin")
    first.write(b"parent")
    first.commit(200, 6, 6)
    held = [os.open(tmp_path / "parent.bin", os.O_RDONLY) for _ in range(8)]  # fd numbers the child reuses
    try:
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            signal.alarm(60)  # a stuck child is killed instead of hanging the test; no duration asserted
            try:
                for fd in held:
                    os.close(fd)
                atomic = AtomicFile(tmp_path / "child.bin")
                atomic.write(b"child")
                atomic.commit(200, 5, 5)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        for fd in held:
            os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "child.bin").read_bytes() == b"child"
    assert (tmp_path / "parent.bin").read_bytes() == b"parent"
