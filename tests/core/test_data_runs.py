"""Every data source, trained for real on tiny data, goes through optimize -> export -> verify -> report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from designer.cli import main
from designer.config import parse_config
from designer.data import Corpus, make_split
from designer.data.synthetic import synthesize_corpus
from designer.train import train_fold
from tests.conftest import tiny_data, write_toml
from tests.core.datasets import RATE_HZ, tone, tiny_run_data, write_csv, write_folders, write_npz, write_ts, write_tsv


def _invoke(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _verify(*args) -> dict:
    """`designer verify --json`: a one-epoch design may fail only on chance, and its exit status says so."""
    result = CliRunner().invoke(main, ["verify", *map(str, args), "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.exit_code == (0 if report["passed"] else 1), result.output
    assert all("chance" in failure or "drop" in failure for failure in report["failures"])
    return report


def _export_verify_report(folder: Path, fields: bool = False) -> dict:
    """Export GDS, verify it (the drop is at most one test sample), write the report; the verify result."""
    _invoke("export", folder, "--format", "gds")
    report = _verify(folder / "design.gds")
    assert abs(report["drop_points"]) <= 100 / report["test_samples"] + 1e-9
    assert report["passed"] == (report["p_value_above_chance"] < 0.05 and report["drop_points"] <= 2.0)
    _invoke("report", folder, *([] if fields else ["--no-fields"]))
    assert (folder / "report" / "report.html").exists()
    return report


def _optimize(tmp_path: Path, doc: dict, epochs: int = 1) -> Path:
    config = write_toml(tmp_path / "run.toml", doc)
    out = tmp_path / "run"
    _invoke("optimize", config, "--out", out, "--epochs", epochs, "--quiet")
    return out


def test_four_class_folders_with_free_names(tmp_path):
    names = ["yes", "no", "maybe later", "stop!"]
    root = write_folders(tmp_path / "clips", names, speakers=3)
    out = _optimize(tmp_path, tiny_run_data({"source": "folders", "path": "clips", "group_pattern": "^(s[0-9]+)_"}))
    meta = json.loads((out / "design.json").read_text())
    assert meta["split"]["classes"] == sorted(names)
    assert [p["name"] for p in meta["placement"]["probes"]] == sorted(names)  # placed, one per class
    assert not set(meta["split"]["train_speakers"]) & set(meta["split"]["test_speakers"])
    assert meta["data"]["source"] == "folders" and meta["data"]["samples"] == 24
    report = _export_verify_report(out, fields=True)
    assert report["classes"] == sorted(names) and len(report["confusion_matrix"]) == 4
    # verify --data: new recordings of the same kind, every one classified
    other = write_folders(tmp_path / "new clips", names, per_class=2, seed=7)
    fresh = _verify(out / "design.gds", "--data", other)
    assert fresh["test_samples"] == 8


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_arrays_run(tmp_path, kind):
    path = write_npz(tmp_path / "tones.npz") if kind == "npz" else write_csv(tmp_path / "tones.csv")
    out = _optimize(tmp_path, tiny_run_data({"source": "arrays", "path": path.name}))
    report = _export_verify_report(out)
    assert report["test_samples"] == json.loads((out / "design.json").read_text())["data"]["test_samples"]


def test_ucr_tsv_run_keeps_the_archive_split(tmp_path):
    write_tsv(tmp_path / "archive")
    out = _optimize(tmp_path, tiny_run_data({"source": "ucr", "path": "archive"}, window_samples=0))
    meta = json.loads((out / "design.json").read_text())
    assert meta["data"]["test_samples"] == 12 and meta["data"]["train_samples"] == 16
    assert meta["config"]["data"]["ring_down_samples"] > 0  # 50-60 sample series: shorter than two transits
    _export_verify_report(out)


def test_hillenbrand_named_recordings_run(tmp_path):
    folder = tmp_path / "hillenbrand"
    folder.mkdir()
    signals, labels, speakers = synthesize_corpus(("ae", "iy"), ("m", "w"), 3, 16000.0, seed=0)
    for x, y, s in zip(signals, labels, speakers):
        soundfile.write(folder / f"{s}{('ae', 'iy')[y]}.wav", x * 0.9, 16000, subtype="PCM_16")
    doc = tiny_run_data({"source": "hillenbrand", "path": "hillenbrand", "classes": ["ae", "iy"]})
    out = _optimize(tmp_path, doc)
    meta = json.loads((out / "design.json").read_text())
    assert {s[0] for s in meta["split"]["test_speakers"]} == {"m", "w"}  # folds balance the sexes
    _export_verify_report(out)


def test_ucr_ts_from_init_and_optimize_with_no_edits(tmp_path):
    write_ts(tmp_path / "NeverSeen", name="NeverSeen", classes=3, train=6, test=4, length=40)
    config = tmp_path / "never-seen.toml"
    said = _invoke("init", "--data", tmp_path / "NeverSeen", "--out", config)
    assert "3 classes (c0, c1, c2)" in said
    cfg = parse_config(__import__("tomllib").loads(config.read_text()), str(config))
    assert cfg.data.source == "ucr" and cfg.data.window_samples == 0 and len(cfg.probes) == 3
    out = tmp_path / "run"
    _invoke("optimize", config, "--out", out, "--epochs", 1, "--quiet", "--export", "gds")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["folds"][0]["fabricated"]["gds"]["drop_points"] <= 100 / 12 + 1e-9
    report = _verify(out / "design.gds")
    assert report["test_samples"] == 12 and report["classes"] == ["c0", "c1", "c2"]


def test_a_run_through_the_python_api_is_complete(tmp_path):
    rng = np.random.default_rng(0)
    signals = tuple(tone(k % 3, int(rng.integers(220, 300)), rng) for k in range(24))
    corpus = Corpus(signals, np.arange(24) % 3, np.array([f"day{k // 6}" for k in range(24)]),
                    ("low", "mid", "high"), RATE_HZ)
    doc = tiny_data()
    del doc["probes"]
    doc["data"] = {"source": "code", "classes": ["low", "mid", "high"], "window_samples": 200}
    doc["training"]["epochs"] = 1
    cfg = parse_config(doc, "made in code")
    split = make_split(corpus, 0, 0, 0.25, seed=0)
    train_fold(cfg, corpus, split, tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "design.json").read_text())
    assert meta["config"]["template"] == "photonic-soi"
    assert meta["config"]["data"]["source"] == "arrays" and meta["data"]["stored_corpus"] == "corpus.npz"
    report = _export_verify_report(tmp_path / "run", fields=True)
    assert report["classes"] == ["low", "mid", "high"] and report["test_samples"] == len(split.test)
