"""Choosing the final design by its fabricated training loss (``[training] select_epochs``)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from designer.cli import main
from tests.conftest import tiny_data, write_toml


@pytest.fixture
def selecting_run(tmp_path):
    # A learning rate that grows 8x per epoch overshoots late, so a late epoch
    # is worse on the training data than an earlier one.
    data = tiny_data()
    data["training"].update(epochs=4, select_epochs=4, eval_every=2, learning_rate=0.05, lr_decay=8.0)
    data["constraints"]["fabricated_epochs"] = 2
    config = write_toml(tmp_path / "select.toml", data)
    out = tmp_path / "run"
    args = ["optimize", str(config), "--out", str(out), "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out, args


def test_final_design_is_the_candidate_with_the_lowest_fabricated_training_loss(selecting_run):
    out, _ = selecting_run
    metrics = json.loads((out / "design.json").read_text())["metrics"]
    trained = [r for r in metrics["history"] if not r.get("selected")]
    losses = [r["binary_train_loss"] for r in trained]  # every candidate epoch is scored
    best = len(losses) - 1 - int(np.argmin(losses[::-1]))  # ties to the later epoch
    final = metrics["final"]
    assert best < len(losses) - 1, "the fixture should make a late epoch worse"
    assert final["selected_epoch"] == best
    # The shipped design is that epoch's: re-evaluated, its fabricated training loss is the one scored.
    assert final["train_loss"] == pytest.approx(losses[best], rel=1e-9)
    assert metrics["history"][-1]["selected"] and metrics["history"][-1]["epoch"] == best
    assert final["train_loss"] < losses[-1]


def test_history_csv_has_the_columns_of_every_epoch(selecting_run):
    out, _ = selecting_run
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    # Epoch 1 is not evaluated on the test set (eval_every = 2), later ones are.
    assert "binary_train_loss" in header and "binary_test_accuracy" in header and "test_accuracy" in header


def test_resuming_a_finished_selecting_run_keeps_the_selected_design(selecting_run):
    out, args = selecting_run
    before = json.loads((out / "design.json").read_text())["metrics"]["final"]
    with np.load(out / "design.npz") as d:
        theta = d["theta"].copy()
    result = CliRunner().invoke(main, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "design.json").read_text())["metrics"]
    after = metrics["final"]
    # The last trained epoch is not the shipped one, so its evaluated record is kept as it was.
    assert "binary_test_accuracy" in [r for r in metrics["history"] if not r.get("selected")][-1]
    assert after["selected_epoch"] == before["selected_epoch"]
    assert after["test_accuracy"] == before["test_accuracy"]
    with np.load(out / "design.npz") as d:
        np.testing.assert_array_equal(d["theta"], theta)


def test_select_epochs_below_one_is_a_one_line_error(tmp_path):
    data = tiny_data()
    data["training"].update(epochs=2, select_epochs=0)
    config = write_toml(tmp_path / "bad.toml", data)
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code != 0
    assert "training.select_epochs" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "design.npz").exists()
