"""The writers: the umask is honoured, only regular files are replaced, a failed write leaves nothing."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from designer.cli import main
from designer.design import atomic_write_bytes
from designer.errors import DesignerError
from fabrication.atomic import atomic_path
from tests.hardening.corpus import GOLDEN


@pytest.fixture
def run(tmp_path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("design.npz", "design.json"):
        shutil.copy(GOLDEN / name, folder / name)
    return folder


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002, 0o077])
def test_written_files_get_0666_minus_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        with atomic_path(tmp_path / "b.gds") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    for name in ("a.json", "b.gds"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name


def _special(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    out = {"fifo": fifo, "folder": folder}
    if os.geteuid() == 0:  # a private character device (1, 3 is what /dev/null is), never the system's
        out["char-device"] = tmp_path / "null"
        os.mknod(out["char-device"], stat.S_IFCHR | 0o600, os.makedev(1, 3))
    for name, target in list(out.items()):
        link = tmp_path / f"link-to-{name}"
        link.symlink_to(target)
        out[f"symlink-to-{name}"] = link
    return out


def test_a_special_file_is_never_replaced(tmp_path):
    for name, path in _special(tmp_path).items():
        kind = stat.S_IFMT(os.lstat(path).st_mode)
        with pytest.raises(DesignerError, match="not a regular file; refusing to replace it") as info:
            atomic_write_bytes(path, b"data")
        assert "\n" not in str(info.value), name
        assert stat.S_IFMT(os.lstat(path).st_mode) == kind, name
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_symlink_to_a_regular_file_is_itself_replaced(tmp_path):
    target, link = tmp_path / "target.txt", tmp_path / "link.txt"
    target.write_bytes(b"old")
    link.symlink_to(target)
    atomic_write_bytes(link, b"new")
    assert not link.is_symlink() and link.read_bytes() == b"new"
    assert target.read_bytes() == b"old"


@pytest.mark.parametrize("kind", ["fifo", "char-device", "folder", "symlink-to-fifo"])
def test_export_refuses_a_special_out_in_one_line(tmp_path, run, kind):
    special = _special(tmp_path)
    if kind not in special:
        pytest.skip("creating a device needs root")
    result = CliRunner().invoke(main, ["export", str(run), "--format", "gds", "--out", str(special[kind])])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --out") and "refusing to replace" in lines[0]
    assert not (run / "design.gds").exists()


def _limited(size_bytes: int):
    """A child that can write files of at most ``size_bytes``: writes past it fail with EFBIG, as on a full disk."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size_bytes, size_bytes))
    return limit


@pytest.mark.parametrize("command", [["show", "{run}/design.npz", "--out", "{run}/preview.png"],
                                     ["export", "{run}", "--format", "gds"],
                                     ["export", "{run}", "--format", "png"]])
def test_a_failing_write_is_one_line_and_leaves_no_file(run, command):
    before = sorted(p.name for p in run.iterdir())
    args = [a.format(run=run) for a in command]
    done = subprocess.run([sys.executable, "-m", "designer", *args], capture_output=True, text=True,
                          preexec_fn=_limited(4096), timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cannot write" in lines[0], done.stderr
    assert sorted(p.name for p in run.iterdir()) == before  # no partial file, no temporary file
