"""One writer per run folder; a fresh run never mixes with an old one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from designer.cli import main
from designer.errors import DesignerError
from designer.rundir import LOCK_NAME, check_fresh, locked, remove_stale_temps
from tests.conftest import tiny_data, write_toml


def _designer(*args) -> list[str]:
    return [sys.executable, "-m", "designer", *args]


def test_a_second_optimize_process_on_one_folder_is_refused_in_one_line(tmp_path):
    data = tiny_data()
    data["training"]["epochs"] = 50
    config = write_toml(tmp_path / "tiny.toml", data)
    out = tmp_path / "run"
    first = subprocess.Popen(_designer("optimize", str(config), "--out", str(out), "--quiet"))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out / LOCK_NAME).exists() or \
                not (out / LOCK_NAME).read_text().strip():
            assert first.poll() is None, "the first run ended before it was seen holding the lock"
            time.sleep(0.05)
        second = subprocess.run(_designer("optimize", str(config), "--out", str(out), "--resume", "--quiet"),
                                capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert lines == [f"error: {out}: pid {first.pid} is writing this run folder; wait for it to finish or "
                     f"choose another --out"]


def test_a_second_writer_in_the_same_process_is_refused(tmp_path, tiny_config_path):
    out = tmp_path / "run"
    with locked(out):
        with pytest.raises(DesignerError, match="is writing this run folder"):
            with locked(out):
                pass
        result = CliRunner().invoke(main, ["optimize", str(tiny_config_path), "--out", str(out), "--quiet"])
        assert result.exit_code == 2 and "is writing this run folder" in result.output
    with locked(out):  # released: the next writer gets it
        pass


def test_a_fresh_run_into_a_used_folder_is_refused_and_leaves_it_alone(tmp_path, tiny_config_path):
    out = tmp_path / "run"
    args = ["optimize", str(tiny_config_path), "--out", str(out), "--epochs", "1", "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 0
    (out / "design.gds").write_bytes(b"an export of the earlier design")
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != LOCK_NAME}
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {out}: already holds a run (checkpoint.npz, design.gds, design.json, design.npz, ...); "
        f"pass --resume to continue it, or choose a new --out"]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != LOCK_NAME} == before
    assert CliRunner().invoke(main, [*args, "--resume"]).exit_code == 0


def test_an_empty_folder_takes_a_fresh_run(tmp_path):
    (tmp_path / "empty").mkdir()
    check_fresh(tmp_path / "empty")
    check_fresh(tmp_path / "absent")


def test_only_the_atomic_writers_temporary_files_are_removed(tmp_path):
    names = [".checkpoint.npz.0a1b2c3d.tmp", ".design.gds.deadbeef.gds", ".history.csv.00000000.tmp"]
    kept = ["notes.tmp", ".checkpoint.npz.xyz.tmp", ".hidden", "design.npz"]
    for name in names + kept:
        (tmp_path / name).write_bytes(b"x")
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_the_lock_of_a_killed_writer_does_not_block(tmp_path):
    out = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                              "from designer.rundir import locked\nwith locked(Path(sys.argv[1])):\n"
                              "    print('held', flush=True); time.sleep(60)", str(out)],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert child.stdout.readline().strip() == "held"
    with pytest.raises(DesignerError, match=f"pid {child.pid} is writing"):
        with locked(out):
            pass
    child.kill()
    child.wait()
    with locked(out):  # the kernel released the dead process's lock
        pass
