"""Restarts: each restart is the run of its seed alone, and the fold ships the lowest fabricated training loss."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from designer.cli import main
from designer.design import run_designs
from designer.restarts import restart_folder
from tests.conftest import tiny_data, write_toml
from tests.hardening.test_checkpoint_kill import design_of

EPOCHS = 3


def document(**training) -> dict:
    data = tiny_data()
    data["training"].update(epochs=EPOCHS, **training)
    data["data"].update(speakers_per_sex=3, window_samples=120)
    return data


def optimize(*args: str) -> str:
    result = CliRunner().invoke(main, ["optimize", *args, "--quiet"])
    assert result.exit_code == 0, result.output
    return result.output


def shipped(folder: Path) -> dict:
    """A design's arrays and metrics, less timings and the restarts table."""
    arrays, meta = design_of(folder)
    meta["metrics"].pop("restarts", None)
    return {"arrays": {k: v.tobytes() for k, v in arrays.items()}, **meta}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("restarts")
    folders = {"restarts": base / "restarts", "seed-5": base / "seed-5", "seed-6": base / "seed-6"}
    optimize(str(write_toml(base / "restarts.toml", document(seed=5, restarts=2))), "--out",
             str(folders["restarts"]))
    for seed in (5, 6):
        optimize(str(write_toml(base / f"seed-{seed}.toml", document(seed=seed))), "--out",
                 str(folders[f"seed-{seed}"]))
    return folders


def test_each_restart_is_its_seed_trained_alone(runs):
    assert shipped(runs["seed-5"])["arrays"] != shipped(runs["seed-6"])["arrays"]  # the seeds do differ
    for seed in (5, 6):
        assert shipped(restart_folder(runs["restarts"], seed)) == shipped(runs[f"seed-{seed}"])


def test_the_fold_ships_the_restart_with_the_lowest_fabricated_training_loss(runs):
    losses = {s: json.loads((runs[f"seed-{s}"] / "design.json").read_text())["metrics"]["final"]["train_loss"]
              for s in (5, 6)}
    best = min(losses, key=lambda s: (losses[s], s))
    assert shipped(runs["restarts"]) == shipped(runs[f"seed-{best}"])
    table = json.loads((runs["restarts"] / "design.json").read_text())["metrics"]["restarts"]
    assert [r["seed"] for r in table] == [5, 6]
    assert [r["chosen"] for r in table] == [s == best for s in (5, 6)]
    assert [r["train_loss"] for r in table] == [losses[5], losses[6]]
    # The shipped copy's config trains it alone: its seed, one restart.
    config = json.loads((runs["restarts"] / "design.json").read_text())["config"]["training"]
    assert (config["seed"], config["restarts"]) == (best, 1)
    summary = json.loads((runs["restarts"] / "summary.json").read_text())
    assert summary["folds"][0]["seed"] == best and len(summary["folds"][0]["restarts"]) == 2


def test_a_run_ships_its_folds_not_the_restart_candidates(runs):
    assert run_designs(runs["restarts"]) == [runs["restarts"]]


def test_resuming_a_finished_restarts_run_ships_the_same_design(runs, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(runs["restarts"], copy)
    config = runs["restarts"].parent / "restarts.toml"
    optimize(str(config), "--out", str(copy), "--resume")
    assert shipped(copy) == shipped(runs["restarts"])


def test_folds_ship_in_numeric_order_past_nine(tmp_path):
    for k in (0, 1, 2, 10, 11):
        (tmp_path / f"fold-{k}").mkdir()
        (tmp_path / f"fold-{k}" / "design.json").write_text("{}")
    (tmp_path / "fold-0" / "restarts" / "seed-1").mkdir(parents=True)
    (tmp_path / "fold-0" / "restarts" / "seed-1" / "design.json").write_text("{}")
    assert [p.name for p in run_designs(tmp_path)] == ["fold-0", "fold-1", "fold-2", "fold-10", "fold-11"]


@pytest.mark.parametrize("restarts, expected", [(0, "expected 1 to 64 seeds per fold, got 0"),
                                                (65, "expected 1 to 64 seeds per fold, got 65")])
def test_a_restart_count_out_of_range_is_one_line(tmp_path, restarts, expected):
    config = write_toml(tmp_path / "bad.toml", document(restarts=restarts))
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "training.restarts" in lines[0] and expected in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_a_seed_whose_restarts_pass_the_seed_limit_is_one_line(tmp_path):
    config = write_toml(tmp_path / "bad.toml", document(seed=2**63 - 2, restarts=3))
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2 and "training.seed" in result.output and "training.restarts" in result.output
    assert not (tmp_path / "run").exists()


def test_a_seed_run_resumes_as_a_restart_and_old_checkpoints_still_match(runs, tmp_path):
    """A seed's run folder, moved under restarts/, is that restart: resuming ships without training again."""
    import shutil

    from designer.checkpoint import run_fingerprint
    from designer.config import parse_config

    cfg = parse_config(document(seed=5), "seed")
    keys = run_fingerprint(cfg)["training"]
    assert "restarts" not in keys and "physics_aware" not in keys  # as before the keys existed
    out = tmp_path / "assembled"
    for seed in (5, 6):
        shutil.copytree(runs[f"seed-{seed}"], restart_folder(out, seed))
        for name in ("summary.json", ".designer.lock"):
            (restart_folder(out, seed) / name).unlink(missing_ok=True)
    output = CliRunner().invoke(main, ["optimize", str(runs["restarts"].parent / "restarts.toml"), "--out", str(out),
                                       "--resume"]).output
    assert "epoch 1:" not in output and "resuming" in output
    assert shipped(out) == shipped(runs["restarts"])
