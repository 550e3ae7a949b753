"""Readouts: the map from probe powers to a class (designer.readout), placed, checked and trained end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from designer.cli import main
from designer.config import parse_config
from designer.errors import ConfigError
from designer.metrics import cross_entropy, log_probabilities
from designer.readout import READOUTS, get_readout, probe_labels
from tests.conftest import tiny_data, write_toml
from tests.core.datasets import tiny_run_data, write_npz
from tests.core.test_placement import _assert_rules, _config

INTENSITY, RATIO = READOUTS["intensity"], READOUTS["ratio"]


def _powers(rows: int, probes: int, seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).uniform(0.01, 2.0, (rows, probes)))


def test_intensity_is_the_normalised_power():
    p = _powers(5, 3)
    expected = torch.log(p / p.sum(1, keepdim=True))
    assert torch.allclose(log_probabilities(p), expected, rtol=0, atol=1e-14)
    assert torch.equal(log_probabilities(p, INTENSITY), log_probabilities(p))
    assert (INTENSITY.predict(p) == p.argmax(1).numpy()).all()


def test_ratio_is_a_softmax_of_the_pairs_log_ratios():
    p = _powers(7, 6)  # 3 classes: probes (0+, 1+, 2+, 0-, 1-, 2-)
    ratio = p[:, :3] / p[:, 3:]
    lp = log_probabilities(p, RATIO)
    assert lp.shape == (7, 3)
    assert torch.allclose(lp.exp(), ratio / ratio.sum(1, keepdim=True), rtol=1e-12, atol=0)
    assert (RATIO.predict(p) == ratio.argmax(1).numpy()).all()
    assert (RATIO.predict(p.numpy()) == RATIO.predict(p)).all()  # numpy in, same answer


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_readouts_ignore_the_signal_level(name):
    r = READOUTS[name]
    p = _powers(4, r.probes_for(3), seed=1)
    assert torch.allclose(r.log_probabilities(1e-6 * p), r.log_probabilities(p), atol=1e-12)


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_readout_loss_gradient_matches_finite_differences(name):
    r = READOUTS[name]
    p = _powers(3, r.probes_for(4), seed=2).requires_grad_(True)
    labels = torch.tensor([0, 3, 1])
    assert torch.autograd.gradcheck(lambda q: cross_entropy(q, labels, r), (p,), eps=1e-6, atol=1e-8)


def test_ratio_separates_spectra_intensity_provably_cannot():
    """Two bands. Class A: equal power in both; class B: power in one band only (either one).

    Intensity decides by the sign of a linear form f(P) = (w_A - w_B) . P; f(1, 1) = f(1, 0) + f(0, 1), so
    f cannot be positive at (1, 1) and negative at (1, 0) and (0, 1). The ratio readout's boundary,
    (a_A . P)(b_B . P) = (b_A . P)(a_B . P), is a quadratic form and can.
    """
    spectra = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    truth = np.array([0, 1, 1])
    ports = torch.tensor([[1.0, 0.0], [0.45, 0.45], [0.45, 0.45], [0.0, 1.0]], dtype=torch.float64)  # A+, B+, A-, B-
    power = spectra @ ports.T + 1e-3  # every port hears a little of everything
    assert (RATIO.predict(power) == truth).all()
    rng = np.random.default_rng(0)
    for _ in range(2000):  # any non-negative weights: intensity gets one of the three wrong
        w = torch.as_tensor(rng.exponential(1.0, (2, 2)))
        assert not (INTENSITY.predict(spectra @ w.T) == truth).all()


@pytest.mark.parametrize("n", [2, 5, 12])
def test_ratio_ports_are_placed_in_pairs_keeping_every_rule(n):
    classes = [f"class {k}" for k in range(n)]
    doc_cfg = _config(classes)
    cfg = parse_config({**_doc(classes), "readout": {"kind": "ratio"}}, "placed.toml")
    assert [p.name for p in cfg.probes] == [f"class {k}{s}" for s in "+-" for k in range(n)]
    _assert_rules(cfg)
    ys = [p.y_cells for p in cfg.probes]
    assert ys == sorted(ys) and len(set(ys)) == 2 * n
    side = cfg.design_region.y1_cells - cfg.design_region.y0_cells
    assert all(ys[k + n] - ys[k] >= side // 2 - 1 for k in range(n))  # a pair stands half the row apart
    assert len(doc_cfg.probes) == n  # the same data with the default readout: one per class
    assert probe_labels(tuple(classes), len(cfg.probes)) == RATIO.ports(tuple(classes))
    assert probe_labels(tuple(classes), n) == tuple(classes)


def _doc(classes):
    from tests.core.test_placement import EXAMPLE_GRID, EXAMPLE_REGION

    doc = tiny_data()
    del doc["probes"]
    doc.update(grid=dict(EXAMPLE_GRID), design_region=dict(EXAMPLE_REGION))
    doc["sources"] = [{"name": "input", "x_cells": 20, "y_cells": 40}]
    doc["data"] = {"source": "arrays", "path": "unused.npz", "classes": list(classes)}
    return doc


def test_ratio_with_one_probe_per_class_is_a_one_line_error():
    doc = tiny_data()  # three given [[probes]], three classes
    doc["readout"] = {"kind": "ratio"}
    with pytest.raises(ConfigError) as err:
        parse_config(doc, "run.toml")
    message = str(err.value)
    assert "\n" not in message and "run.toml" in message and "probes" in message
    assert "2 probes per class" in message and "'ae+', 'ei+', 'iy+', 'ae-'" in message


def test_unknown_readout_is_a_one_line_error():
    doc = tiny_data()
    doc["readout"] = {"kind": "log"}
    with pytest.raises(ConfigError) as err:
        parse_config(doc, "run.toml")
    assert "readout.kind" in str(err.value) and "ratio" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError):
        get_readout("log")


def _invoke(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_ratio_run_goes_through_export_verify_report(tmp_path):
    """Real training on tiny arrays with the ratio readout; verify of the exported file reads the same readout."""
    path = write_npz(tmp_path / "tones.npz")
    doc = tiny_run_data({"source": "arrays", "path": path.name})
    doc["readout"] = {"kind": "ratio"}
    out = tmp_path / "run"
    _invoke("optimize", write_toml(tmp_path / "run.toml", doc), "--out", out, "--epochs", 2, "--quiet")
    meta = json.loads((out / "design.json").read_text())
    classes = meta["split"]["classes"]
    assert meta["config"]["readout"] == {"kind": "ratio"}
    assert [p["name"] for p in meta["placement"]["probes"]] == [f"{c}{s}" for s in "+-" for c in classes]
    _invoke("export", out, "--format", "gds")
    result = CliRunner().invoke(main, ["verify", str(out / "design.gds"), "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["confusion_matrix"]) == len(classes)  # classes, not probes
    assert abs(report["drop_points"]) <= 100 / report["test_samples"] + 1e-9  # the readout training used
    _invoke("report", out, "--no-fields")
    assert (out / "report" / "report.html").exists()


def test_init_writes_a_ratio_config_that_loads(tmp_path):
    from designer.config import load_config

    path = write_npz(tmp_path / "tones.npz")
    out = tmp_path / "fitted.toml"
    _invoke("init", "--data", path, "--template", "acoustic-channel", "--readout", "ratio", "--out", out)
    cfg = load_config(out)
    assert cfg.readout.kind == "ratio"
    assert [p.name for p in cfg.probes] == list(RATIO.ports(cfg.data.classes))
    _assert_rules(cfg)


def test_ratio_training_gradient_matches_finite_differences():
    """The ratio readout's loss, through the density pipeline and the wave engine, against a central difference."""
    from designer.data import batches, load_corpus, make_split
    from designer.train import make_problem, probe_power

    doc = tiny_data()
    del doc["probes"]
    doc["readout"] = {"kind": "ratio"}
    doc["simulation"] = {"dtype": "float64"}
    cfg = parse_config(doc, "ratio.toml")
    assert len(cfg.probes) == 2 * len(cfg.data.classes)
    problem = make_problem(cfg, engine="fused")
    corpus = load_corpus(cfg.data)
    split = make_split(corpus, 0, 0, cfg.data.test_fraction, 0)
    x, y, *_ = next(iter(batches(corpus, split.train, 6, cfg.data.window_samples, rng=np.random.default_rng(0),
                                dtype=problem.dtype)))
    g = torch.Generator().manual_seed(3)
    theta = torch.randn(problem.density.design_mask.shape, dtype=torch.float64, generator=g)
    direction = torch.randn(theta.shape, dtype=torch.float64, generator=g)

    def loss(t):
        rho = problem.density.training(t, 8.0, 0)[1]  # the nominal design
        return cross_entropy(probe_power(problem, rho, x), y, problem.readout)

    t = theta.clone().requires_grad_(True)
    loss(t).backward()
    analytic = float((t.grad * direction).sum())
    eps = 1e-5
    with torch.no_grad():
        numeric = float(loss(theta + eps * direction) - loss(theta - eps * direction)) / (2 * eps)
    assert abs(analytic) > 1e-6
    assert analytic == pytest.approx(numeric, rel=1e-5)


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_sharpness_scales_the_scores_in_the_softmax_and_keeps_the_class(name):
    import dataclasses

    r = READOUTS[name]
    sharp = dataclasses.replace(r, sharpness=4.0)
    p = _powers(6, r.probes_for(3), seed=3)
    expected = torch.log_softmax(4.0 * r.scores(p), dim=-1)
    assert torch.allclose(sharp.log_probabilities(p), expected, rtol=0, atol=1e-12)
    assert (sharp.predict(p) == r.predict(p)).all()
    # a sharper softmax is more confident in its argmax
    top = torch.as_tensor(r.predict(p))[:, None]
    assert (sharp.log_probabilities(p).gather(1, top) > r.log_probabilities(p).gather(1, top)).all()
    labels = torch.tensor([0, 2, 1, 1, 0, 2])
    q = p.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: cross_entropy(x, labels, sharp), (q,), eps=1e-6, atol=1e-8)


def test_sharpness_is_read_from_the_config_checked_and_part_of_the_resume_fingerprint():
    from designer.checkpoint import run_fingerprint
    from designer.readout import readout_for

    doc = tiny_data()
    plain = parse_config(doc, "run.toml")
    doc["readout"] = {"kind": "intensity", "sharpness": 3.0}
    sharp = parse_config(doc, "run.toml")
    assert readout_for(plain).sharpness == 1.0 and readout_for(sharp).sharpness == 3.0
    assert "readout_sharpness" not in run_fingerprint(plain)  # checkpoints written before the key still resume
    assert run_fingerprint(sharp) != run_fingerprint(plain)  # a resume cannot change the loss it trains on
    doc["readout"]["sharpness"] = 0.0
    with pytest.raises(ConfigError) as err:
        parse_config(doc, "run.toml")
    message = str(err.value)
    assert "\n" not in message and "readout.sharpness" in message and "run.toml" in message
