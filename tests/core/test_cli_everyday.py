"""Everyday use of the CLI: verdicts against chance, progress in logs and on terminals, fast failure, help."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from designer.cli import COMMANDS, main
from tests.conftest import tiny_data, write_toml

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
HEAVY = ("torch", "numba", "skimage", "scipy", "trimesh", "gdstk", "shapely", "matplotlib")
EPOCH_LINE = re.compile(r"^\s*epoch (\d+): ")


def _designer(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "designer", *map(str, args)], capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.fixture(scope="module")
def piped(tmp_path_factory):
    """A two-epoch tiny run whose progress went into pipes, as in a log: (run folder, stdout, stderr)."""
    root = tmp_path_factory.mktemp("piped")
    config = write_toml(root / "tiny.toml", tiny_data())
    out = root / "run"
    result = _designer("optimize", config, "--out", out, "--epochs", "2")
    assert result.returncode == 0, result.stderr
    return out, result.stdout, result.stderr


def test_piped_optimize_writes_one_line_per_epoch(piped):
    _, stdout, stderr = piped
    assert "\r" not in stdout and "\r" not in stderr
    epochs = [int(EPOCH_LINE.match(line).group(1)) for line in stderr.splitlines() if EPOCH_LINE.match(line)]
    assert epochs == [1, 2]
    lines = stderr.splitlines()
    notice = next(i for i, line in enumerate(lines) if "numba compiles" in line)
    assert notice < next(i for i, line in enumerate(lines) if EPOCH_LINE.match(line))


def test_optimize_warns_about_an_unfinished_design(piped):
    out, _, stderr = piped
    meta = json.loads((out / "design.json").read_text())
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ") and "band" not in line]
    # Two epochs leave the design grey (beta 8 at most).
    assert meta["grayness"] > 0.05 and any("still grey" in w for w in warnings)
    assert len(warnings) == len(set(warnings)) and all("\n" not in w for w in warnings)


def test_a_chance_level_design_does_not_pass(piped, tmp_path):
    """A probe moved beside the source takes every recording: the part scores its class's share, chance exactly."""
    run = tmp_path / "beside-source"
    shutil.copytree(piped[0], run, ignore=shutil.ignore_patterns("checkpoint.*"))
    meta = json.loads((run / "design.json").read_text())
    source = meta["config"]["sources"][0]
    meta["config"]["probes"][1].update(x_cells=source["x_cells"], y_cells=source["y_cells"] + 2)  # clear of it
    (run / "design.json").write_text(json.dumps(meta))
    result = CliRunner().invoke(main, ["verify", str(run / "design.npz"), "--max-drop", "100", "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    confusion = np.array(report["confusion_matrix"])
    assert confusion[:, 1].sum() == confusion.sum()  # every recording -> the probe beside the source
    assert report["accuracy"] == pytest.approx(report["chance_accuracy"])
    assert result.exit_code == 1 and report["passed"] is False
    assert len(report["failures"]) == 1 and "chance" in report["failures"][0]
    text = CliRunner().invoke(main, ["verify", str(run / "design.npz"), "--max-drop", "100"])
    assert text.exit_code == 1 and "NOT significantly above chance" in text.stdout
    assert "result          FAIL: not significantly above chance" in text.stdout


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    for name in ("design.npz", "design.json"):
        shutil.copy(GOLDEN / name, folder / name)
    return folder


def test_min_accuracy_sets_the_bar(golden):
    def verdict(*extra):
        result = CliRunner().invoke(main, ["verify", str(golden / "design.npz"), "--json", *extra])
        return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])

    code, report = verdict()
    assert code == 0 and report["passed"] and report["p_value_above_chance"] < 0.05
    low, high = report["accuracy_ci"]
    assert low < report["accuracy"] < high
    bar = 100 * report["accuracy"]
    assert verdict("--min-accuracy", f"{bar - 1:g}")[0] == 0
    code, report = verdict("--min-accuracy", f"{bar + 1:g}")
    assert code == 1 and report["failures"] == [f"accuracy {bar:.1f}% < required {bar + 1:g}%"]


def test_min_accuracy_is_in_percent(golden):
    result = CliRunner().invoke(main, ["verify", str(golden / "design.npz"), "--min-accuracy", "0.8"])
    assert result.exit_code == 2 and result.output.strip().startswith("error: --min-accuracy 0.8: in percent")


def test_verify_help_documents_the_verdict_and_exit_codes():
    text = CliRunner().invoke(main, ["verify", "--help"]).output
    flat = " ".join(text.split())
    assert "significantly above chance" in flat and "Exit status: 0 pass, 1 fail" in flat
    for option in ("--min-accuracy", "--max-drop", "--engine", "--device", "--3d", "--refine", "--json"):
        assert option in text
    for option in ("--engine", "--device"):
        line = " ".join(text.split(option, 1)[1].split("\n  --", 1)[0].split())
        assert "default" in line, option  # each option has its help text


def test_top_level_help_lists_every_command_untruncated():
    text = CliRunner().invoke(main, ["--help"], terminal_width=80).output
    listed = dict(re.findall(r"^  (\w+)\s+(.+)$", text.split("Commands:")[1], re.M))
    assert set(listed) == set(COMMANDS)
    assert not any(v.endswith("...") for v in listed.values())
    assert "Exit status" in text


FAST_FAILURES = [("optimize", "missing.toml"), ("export", "missing"), ("verify", "missing.gds"),
                 ("report", "missing"), ("show", "missing.gds"), ("init", "--data", "missing"),
                 ("verify", "README.md"), ("optimize", "missing.toml", "--data", "nowhere")]


@pytest.mark.parametrize("args", FAST_FAILURES, ids=lambda a: " ".join(a))
def test_a_missing_file_fails_before_any_heavy_import(tmp_path, args):
    (tmp_path / "README.md").write_text("not a part")
    probe = ("import json, sys\nfrom designer.cli import main\n"
             f"try:\n    main({list(args)!r}, prog_name='designer')\nexcept SystemExit as e:\n    code = e.code\n"
             f"print(json.dumps({{'code': code, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    outcome = json.loads(result.stdout)
    assert outcome == {"code": 2, "heavy": []}, (outcome, result.stderr)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and ("missing" in line or "nowhere" in line or "README.md" in line)


def test_verify_missing_file_fails_within_a_second(tmp_path):
    _designer("verify", "missing.gds", cwd=tmp_path)  # warm the file cache
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = _designer("verify", "missing.gds", cwd=tmp_path)
        times.append(time.perf_counter() - started)
        assert result.returncode == 2 and result.stderr == "error: missing.gds: file not found\n"
    assert min(times) < 1.0, times


def test_a_terminal_gets_a_live_bar(tmp_path):
    """On a terminal the epoch redraws in place (tqdm); its summary line stays."""
    config = write_toml(tmp_path / "tiny.toml", tiny_data())
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    process = subprocess.Popen([sys.executable, "-m", "designer", "optimize", str(config), "--out",
                                str(tmp_path / "run"), "--epochs", "1"], stdout=subprocess.DEVNULL,
                               stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    received = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 600)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the terminal closed with the process
            chunk = b""
        if not chunk:
            break
        received += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, received.decode(errors="replace")
    text = received.decode(errors="replace")
    assert "\r" in text and "epoch 1/1" in text and "batch" in text
    assert re.search(r"^\s*epoch 1: beta", text.replace("\r\n", "\n").replace("\r", "\n"), re.M)
