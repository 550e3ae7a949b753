"""The carrier template end to end: its band figures, refusals in one line, a run, its GDS verified."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from designer.band import band_report
from designer.cli import main
from designer.config import load_config, parse_config
from designer.data import load_corpus
from designer.drive import drive_for
from tests.conftest import HILLENBRAND, write_toml
from tests.photonic.carrier import carrier_data

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vowels_carrier.toml"


def test_ssb_drive_puts_a_tone_at_carrier_plus_scaled_frequency():
    cfg = parse_config(carrier_data(), "carrier")
    drive = drive_for(cfg)
    t = np.arange(4000) / cfg.data.sample_rate_hz
    tone = np.sin(2 * np.pi * 700.0 * t) * np.hanning(t.size)
    report = band_report([tone], cfg)
    expected = cfg.template.drive.carrier_hz + 700.0 * cfg.time_scale
    assert report.median_hz == pytest.approx(expected, rel=2e-3)
    assert report.ok and report.share_inside > 0.999
    nodes = np.linspace(cfg.template.band.min_hz, cfg.template.band.max_hz, 40)
    import torch

    weights = drive.node_weights(torch.as_tensor(drive.numpy(tone))[None], nodes)[0].numpy()
    assert np.argmax(weights) in (np.searchsorted(nodes, expected) - 1, np.searchsorted(nodes, expected))


@pytest.mark.skipif(not HILLENBRAND.exists(), reason="Hillenbrand recordings not present")
def test_hillenbrand_energy_as_injected_lies_inside_the_declared_band():
    """The README's arithmetic: >= 95 % of the test signals' energy, after the drive chain, inside 1.42-1.80 um."""
    cfg = load_config(EXAMPLE)
    cfg = cfg.replace(data=dataclasses.replace(cfg.data, path=str(HILLENBRAND)))
    corpus = load_corpus(cfg.data)
    report = band_report(corpus.signals, cfg)
    assert report.signals == len(corpus.signals) == 222
    assert report.share_inside >= 0.95 and report.ok
    assert report.share_inside > 0.999  # the example's time scale 2e10: the README quotes 99.9 %
    template = band_report(corpus.signals, cfg.replace(simulation=dataclasses.replace(cfg.simulation, time_scale=0.0)))
    assert template.time_scale == cfg.template.time_scale
    assert template.share_inside > 0.9999  # the template's own 1.2e10: 99.996 %


def _carrier_path(tmp_path, **simulation) -> Path:
    data = carrier_data()
    if simulation:
        data["simulation"] = simulation
    return write_toml(tmp_path / "carrier.toml", data)


def test_config_outside_its_band_is_refused_in_one_line(tmp_path):
    # 2e11 instead of 1.2e10: the formants land beyond 1.42 um, where TE1 is guided.
    path = _carrier_path(tmp_path, time_scale=2e11)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "outside the valid band" in lines[0] and "1.42-1.8 um" in lines[0] and "TE1 cutoff" in lines[0]
    assert not out.exists()


def test_time_engine_on_a_dispersive_template_is_refused_in_one_line(tmp_path):
    path = _carrier_path(tmp_path)
    result = CliRunner().invoke(main, ["optimize", str(path), "--out", str(tmp_path / "run"), "--quiet",
                                       "--engine", "fused"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "solved per frequency" in lines[0]


def test_carrier_run_trains_exports_and_verifies_with_the_same_band(tmp_path):
    path = _carrier_path(tmp_path)
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(main, ["optimize", str(path), "--out", str(out), "--quiet", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "design.json").read_text())
    assert meta["band"]["modulation"] == "ssb" and meta["band"]["ok"]
    assert meta["model"] == "slab" and meta["template"]["slab"]["core"] == "silicon-li1980"
    result = runner.invoke(main, ["export", str(out), "--format", "gds"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["verify", str(out / "design.gds"), "--json"])
    assert result.exit_code in (0, 1), result.output
    verified = json.loads(result.output.strip().splitlines()[-1])
    assert verified["band"]["share_inside"] == pytest.approx(meta["band"]["share_inside"], rel=1e-3)
    assert verified["band"]["carrier_hz"] == meta["band"]["carrier_hz"]
    # The exported geometry simulated as training simulated it: the same accuracy.
    assert verified["accuracy"] == pytest.approx(meta["metrics"]["final"]["test_accuracy"])


def test_dsb_drive_puts_a_tone_on_both_sidebands():
    import torch

    from designer.drive import Drive

    drive = Drive(factor=1, lowpass_hz=0.0, lowpass_order=4, step_rate_hz=1.2e14, modulation="dsb", carrier_hz=1.9e14)
    t = np.arange(4000) / 1e4
    tone = np.sin(2 * np.pi * 700.0 * t) * np.hanning(t.size)
    nodes = np.linspace(1.7e14, 2.1e14, 41)  # 1 THz apart: the sidebands at 181.6 and 198.4 THz
    weights = drive.node_weights(torch.as_tensor(tone)[None], nodes)[0].numpy()
    low, high = np.searchsorted(nodes, 1.9e14 - 8.4e12), np.searchsorted(nodes, 1.9e14 + 8.4e12)
    assert weights[low - 1:low + 1].sum() == pytest.approx(weights[high - 1:high + 1].sum(), rel=1e-6)
    assert weights[low - 1:low + 1].sum() + weights[high - 1:high + 1].sum() > 0.999 * weights.sum()


def test_field_intensity_sums_to_the_probe_power():
    import torch

    from designer.physics import layout_from_config
    from designer.physics.models import build_medium
    from designer.physics.spectral import field_intensity, spectral_power

    cfg = parse_config(carrier_data(), "carrier")
    layout = layout_from_config(cfg)
    rho = torch.full(layout.design_mask.shape, 0.5, dtype=torch.float64)
    medium = build_medium(rho, cfg, layout)
    weights = torch.rand(2, medium.frequencies, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    maps = field_intensity(medium, layout.source_weights, weights)
    from_maps = torch.einsum("bxy,pxy->bp", maps, layout.probe_weights)
    np.testing.assert_allclose(from_maps, spectral_power(medium, layout.source_weights, layout.probe_weights, weights),
                               rtol=1e-10)


def test_speed_jitter_divides_every_index_of_the_slab_model():
    """A speed scale s on a spectral medium is n(f) / s for both materials at every frequency."""
    import torch

    from designer.physics.models.slab import indices
    from designer.train import make_problem, probe_power

    cfg = parse_config(carrier_data(), "carrier")
    problem = make_problem(cfg)
    rho = torch.full(problem.layout.design_mask.shape, 0.5, dtype=problem.dtype)
    x = torch.as_tensor(np.random.default_rng(0).standard_normal((2, 300)), dtype=problem.dtype)
    nominal, jittered = probe_power(problem, rho, x), probe_power(problem, rho, x, speed_scale=1.05)
    assert not torch.allclose(nominal, jittered, rtol=1e-3)
    t = cfg.template
    slower = dataclasses.replace(t, material=dataclasses.replace(t.material, speed_m_per_s=t.material.speed_m_per_s * 1.05),
                                 background=dataclasses.replace(t.background,
                                                                speed_m_per_s=t.background.speed_m_per_s * 1.05))
    f = np.array([1.8e14, 2.0e14])
    for a, b in zip(indices(cfg.replace(template=slower), f), indices(cfg, f)):
        np.testing.assert_allclose(a * 1.05, b, rtol=1e-12)
