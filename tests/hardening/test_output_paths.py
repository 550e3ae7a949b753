"""Output paths are checked before any work: a bad one is one line, and nothing is written."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from designer.cli import main
from tests.conftest import tiny_data, write_toml
from tests.hardening.corpus import GOLDEN

NOBODY = 65534


@pytest.fixture
def place():
    """A folder everyone may enter, holding a run, a config and a read-only folder (and a read-only run)."""
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="designer-outputs-"))
    try:
        base.chmod(0o755)
        run = base / "run"
        run.mkdir()
        for name in ("design.npz", "design.json"):
            shutil.copy(GOLDEN / name, run / name)
        write_toml(base / "tiny.toml", tiny_data())
        (base / "a-file").write_text("not a folder")
        (base / "ro").mkdir(mode=0o555)
        frozen = base / "frozen-run"
        shutil.copytree(run, frozen)
        frozen.chmod(0o555)
        for p in base.rglob("*"):
            if p.is_file():
                p.chmod(0o644)
        yield base
    finally:
        for p in (base / "ro", base / "frozen-run"):
            p.chmod(0o755)
        shutil.rmtree(base)


@contextlib.contextmanager
def unprivileged():
    """Permission bits bind root only if it drops them: run the command as nobody, then return."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


COMMANDS = {
    "optimize": ["optimize", "{base}/tiny.toml", "--out", "{out}", "--quiet"],
    "export": ["export", "{base}/run", "--format", "gds", "--out", "{out}/design.gds"],
    "show": ["show", "{base}/run/design.npz", "--out", "{out}/preview.png"],
    "init": ["init", "--template", "photonic-soi", "--out", "{out}/new.toml"],
}
PLACES = {
    "under-proc": ("/proc/designer-test", "a kernel file system"),
    "under-sys": ("/sys/designer-test", "a kernel file system"),
    "under-a-file": ("{base}/a-file/inside", "is not a folder"),
    "read-only": ("{base}/ro", "cannot write in"),
}


def _refused(args: list[str], base: Path, needle: str, warm: list[str] | None = None) -> None:
    if warm is not None:  # import, as root, what the command loads before its check (nobody cannot read /root)
        assert CliRunner().invoke(main, warm).exit_code == 2
    before = sorted(str(p) for p in base.rglob("*"))
    with unprivileged():
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.output
    assert sorted(str(p) for p in base.rglob("*")) == before


@pytest.mark.parametrize("where", sorted(PLACES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_output_place_is_one_line_before_any_work(place, command, where):
    out, needle = PLACES[where]
    if where in ("under-proc", "under-sys") and command == "optimize":
        out += "/run"
    args = [a.format(base=place, out=out.format(base=place)) for a in COMMANDS[command]]
    warm = [a.format(base=place, out="/proc/designer-test/x") for a in COMMANDS[command]]
    _refused(args, place, needle, warm)


def test_report_into_a_read_only_run_is_one_line(place):
    _refused(["report", str(place / "frozen-run"), "--no-fields"], place, "cannot write in",
             warm=["report", str(place / "a-file")])


def test_verify_beside_a_read_only_part_is_one_line(place):
    assert CliRunner().invoke(main, ["export", str(place / "run"), "--format", "gds"]).exit_code == 0
    shutil.copy(place / "run" / "design.gds", place / "ro-part.gds")
    frozen = place / "frozen-run"
    frozen.chmod(0o755)
    shutil.copy(place / "run" / "design.gds", frozen / "design.gds")
    frozen.chmod(0o555)
    _refused(["verify", str(frozen / "design.gds")], place, "cannot write in",
             warm=["verify", str(place / "a-file")])


def test_a_writable_place_still_works(place):
    result = CliRunner().invoke(main, ["init", "--template", "photonic-soi", "--out", str(place / "new" / "x.toml")])
    assert result.exit_code == 0, result.output
    assert (place / "new" / "x.toml").is_file()
