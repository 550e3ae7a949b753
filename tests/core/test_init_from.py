"""`[training] init_from`: a run starts from another run's trained field, and only from one trained on its own fold."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from designer.checkpoint import run_fingerprint
from designer.cli import main
from designer.config import parse_config
from designer.data import load_corpus
from designer.design import load_design
from designer.errors import DesignerError
from designer.runner import make_splits
from designer.train import _initial_theta, make_problem
from tests.conftest import tiny_data, write_toml


def document(**training) -> dict:
    data = tiny_data()
    data["training"].update(epochs=2, **training)
    data["data"].update(speakers_per_sex=3, window_samples=120)
    return data


def optimize(*args: str):
    return CliRunner().invoke(main, ["optimize", *args, "--quiet"])


@pytest.fixture(scope="module")
def grey(tmp_path_factory) -> Path:
    """A finished two-fold run, trained grey (the projection held at beta 4)."""
    base = tmp_path_factory.mktemp("init_from")
    data = document(folds=2, learning_rate=0.3)
    data["constraints"].update(method="none", beta_max=4.0)
    result = optimize(str(write_toml(base / "grey.toml", data)), "--out", str(base / "grey"))
    assert result.exit_code == 0, result.output
    return base / "grey"


def start_of(data: dict, source: str):
    """(the first fold's starting field, that fold) for a config document."""
    cfg = parse_config(data, source)
    corpus = load_corpus(cfg.data)
    split = make_splits(cfg, corpus)[1]
    return _initial_theta(make_problem(cfg), corpus, split).cpu().numpy(), split


def test_each_fold_starts_from_its_own_folds_field(grey, tmp_path):
    data = document(folds=2, init_from=str(grey))
    theta, split = start_of(data, str(tmp_path / "warm.toml"))
    own = load_design(grey / f"fold-{split.fold}").arrays["theta"]
    other = load_design(grey / f"fold-{1 - split.fold}").arrays["theta"]
    assert np.array_equal(theta, own)
    assert not np.array_equal(theta, other)  # the folds' fields do differ: the fold is picked, not any field
    fresh, _ = start_of(document(folds=2), str(tmp_path / "cold.toml"))
    assert not np.array_equal(theta, fresh)


def test_a_warm_started_run_trains_on_and_records_where_it_started(grey, tmp_path):
    lr = 1e-4  # Adam moves each value by about lr per step: the run must end where it started
    data = document(folds=2, fold=0, init_from="grey", learning_rate=lr)  # relative to the config's folder
    config = write_toml(grey.parent / "warm.toml", data)
    result = optimize(str(config), "--out", str(tmp_path / "warm"))
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "warm" / "fold-0" / "design.json").read_text())
    assert meta["config"]["training"]["init_from"] == str(grey)
    steps = 2 * 3  # two epochs of at most three batches
    start = load_design(grey / "fold-0").arrays["theta"]
    warm = load_design(tmp_path / "warm" / "fold-0").arrays["theta"]
    assert np.abs(warm - start).max() <= 2 * lr * steps
    assert np.abs(start).max() > 100 * lr * steps  # the start is far from the uniform field a cold run begins at


def test_a_field_trained_on_other_samples_is_refused(grey, tmp_path):
    """Another split of the data would carry this fold's test samples into training."""
    data = document(folds=2, init_from=str(grey))
    data["data"]["seed"] = 7  # the same data, other folds
    with pytest.raises(DesignerError, match=r"^training\.init_from: .*fold-\d: trained on other samples") as err:
        start_of(data, str(tmp_path / "other.toml"))
    assert "\n" not in str(err.value)
    data = document(folds=2, init_from=str(grey / "fold-0"))  # a fold folder names one field for every fold
    with pytest.raises(DesignerError, match="trained on other samples than fold 1"):
        start_of(data, str(tmp_path / "one.toml"))


def test_a_field_on_another_grid_or_a_missing_run_is_a_one_line_error_and_no_output(grey, tmp_path):
    data = document(folds=2, init_from=str(grey))
    data["grid"]["nx"] = 50
    with pytest.raises(DesignerError, match=r"^training\.init_from: .*its design region is not this run's"):
        start_of(data, str(tmp_path / "grid.toml"))
    missing = write_toml(tmp_path / "missing.toml", document(init_from="no-such-run"))
    result = optimize(str(missing), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and "training.init_from" in line and "no-such-run: not found" in line
    assert not (tmp_path / "out" / "design.npz").exists()


def test_init_from_enters_the_resume_fingerprint_only_when_set(grey, tmp_path):
    plain = parse_config(document(), str(tmp_path / "a.toml"))
    warm = parse_config(document(init_from=str(grey)), str(tmp_path / "a.toml"))
    assert "init_from" not in run_fingerprint(plain)["training"]  # checkpoints written before the key still resume
    assert run_fingerprint(warm)["training"]["init_from"] == str(grey)
