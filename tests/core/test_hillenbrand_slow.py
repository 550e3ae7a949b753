"""Training on the real recordings (slow: run with `pytest -m slow`; skipped without the corpus)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from designer.cli import main
from tests.conftest import HILLENBRAND

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vowels_hillenbrand.toml"


@pytest.mark.slow
@pytest.mark.skipif(not HILLENBRAND.is_dir(), reason="Hillenbrand recordings not present")
def test_paper_setup_learns_and_survives_export(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(EXAMPLE), "--data", str(HILLENBRAND), "--epochs", "9",
                                       "--out", str(out), "--quiet", "--export", "gds"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    fold = summary["folds"][0]
    assert fold["smooth_test_accuracy"] > 0.7  # chance is 1/3
    assert fold["fabricated"]["gds"]["accuracy"] == pytest.approx(fold["test_accuracy"])
    assert fold["lengthscale"]["meets_rule"]
