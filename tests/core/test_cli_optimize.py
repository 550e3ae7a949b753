"""`designer optimize` end to end on a tiny config, and resuming a killed run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
from click.testing import CliRunner

from designer.cli import main
from tests.conftest import tiny_data, write_toml


def test_optimize_writes_the_run_folder(tmp_path, tiny_config_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(tiny_config_path), "--out", str(out), "--epochs", "2",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("design.npz", "design.json", "history.csv", "checkpoint.npz"):
        assert (out / name).exists(), name
    with np.load(out / "design.npz", allow_pickle=False) as d:
        assert set(np.unique(d["binary"])) <= {0, 1}
        assert d["rho"].shape == (48, 36)
        assert d["wave_speed_m_per_s"].min() > 0
        assert not d["binary"][~d["design_mask"]].any()
    meta = json.loads((out / "design.json").read_text())
    final = meta["metrics"]["final"]
    assert 0 <= final["test_accuracy"] <= 1 and 0 <= final["train_accuracy"] <= 1
    assert len(meta["metrics"]["history"]) == 2
    assert meta["config"]["template"] == "photonic-soi"
    assert meta["template"]["name"] == "photonic-soi"
    assert meta["units"]["length"] == "um"
    assert "torch" in meta["versions"]
    for key in ("min_solid_cells", "min_void_cells", "rule_cells", "meets_rule"):
        assert key in meta["lengthscale"]
    assert 0 <= meta["grayness"] <= 1
    lines = (out / "history.csv").read_text().strip().splitlines()
    assert len(lines) == 3 and "binary_test_accuracy" in lines[0]
    assert "test accuracy" in result.output and "designer report" in result.output


def _checkpoint_meta(path) -> dict:
    """The metadata a checkpoint carries inside its npz (a uint8 array of JSON)."""
    with np.load(path) as data:
        return json.loads(data["meta"].tobytes())


def _designer(*args) -> list[str]:
    return [sys.executable, "-m", "designer", *args]


def test_killed_run_resumes_to_the_same_design(tmp_path):
    data = tiny_data()
    data["training"]["epochs"] = 3
    config = write_toml(tmp_path / "tiny.toml", data)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(_designer("optimize", str(config), "--out", str(whole), "--quiet"), check=True, env=env)

    proc = subprocess.Popen(_designer("optimize", str(config), "--out", str(killed), "--quiet"), env=env)
    deadline = time.time() + 120
    checkpoint = killed / "checkpoint.npz"
    while time.time() < deadline:
        if checkpoint.exists() and _checkpoint_meta(checkpoint)["epoch"] >= 0:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "design.npz").exists(), "the run finished before it could be killed"
    subprocess.run(_designer("optimize", str(config), "--out", str(killed), "--resume", "--quiet"),
                   check=True, env=env)

    with np.load(whole / "design.npz") as a, np.load(killed / "design.npz") as b:
        np.testing.assert_array_equal(a["theta"], b["theta"])
        np.testing.assert_array_equal(a["binary"], b["binary"])
    history = json.loads((killed / "design.json").read_text())["metrics"]["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]


def test_resuming_a_finished_run_evaluates_the_final_design_afresh(tmp_path, tiny_config_path):
    out = tmp_path / "run"
    args = ["optimize", str(tiny_config_path), "--out", str(out), "--epochs", "2", "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = json.loads((out / "design.json").read_text())["metrics"]["final"]
    # Stale metrics in the checkpoint (as left by an older generator) must not survive a resume.
    with np.load(out / "checkpoint.npz") as data:
        arrays = {k: data[k] for k in data.files}
    checkpoint = json.loads(arrays["meta"].tobytes())
    checkpoint["history"][-1]["binary_test_accuracy"] = -1.0
    arrays["meta"] = np.frombuffer(json.dumps(checkpoint).encode(), dtype=np.uint8)
    np.savez(out / "checkpoint.npz", **arrays)
    result = CliRunner().invoke(main, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    after = json.loads((out / "design.json").read_text())["metrics"]["final"]
    assert after["test_accuracy"] == before["test_accuracy"]
    assert after["train_accuracy"] == before["train_accuracy"]
    metrics = json.loads((out / "design.json").read_text())["metrics"]
    assert len(metrics["history"]) == len(metrics["confusions"]) == 2
    assert metrics["history"][-1]["binary_test_accuracy"] == before["test_accuracy"]
