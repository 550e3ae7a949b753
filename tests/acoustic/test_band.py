"""Band against grid: the scheme's dispersion relation, and configs outside the valid band."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from designer.band import band_report, min_cells_per_wavelength, phase_velocity_ratio
from designer.cli import main
from designer.config import parse_config
from designer.physics.wave import Medium, simulate_traces
from tests.acoustic.test_part_cells import channel_config
from tests.conftest import tiny_channel_data, tiny_data, write_toml


@pytest.mark.parametrize("cells, courant", [(8.0, 0.5), (12.0, 0.3), (20.0, 0.55)])
def test_wavelength_in_the_engine_follows_the_dispersion_relation(cells, courant):
    """A tone at the frequency the relation gives for N cells per wavelength has N cells per wavelength.

    The wave runs along x in a one-cell channel between sound-hard rows (q = 0),
    so it is exactly one-dimensional; an absorbing sponge behind the source
    keeps its reflection out; the wavenumber is measured from the phase lag
    between two points.
    """
    nx, ny, steps = 700, 3, 1300
    omega = courant * (2 * math.pi / cells) * phase_velocity_ratio(cells, courant)  # rad per step
    q = torch.ones(nx, ny, dtype=torch.float64)
    q[:, 0] = q[:, 2] = 0.0
    damping = torch.zeros(nx, ny, dtype=torch.float64)
    damping[:40] = (0.5 * ((40 - torch.arange(40, dtype=torch.float64)) / 40) ** 2)[:, None]
    medium = Medium(torch.full((nx, ny), courant, dtype=torch.float64), damping, inv_density=q)
    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[45, 1] = 1.0
    t = torch.arange(steps, dtype=torch.float64)
    x = (torch.clamp(t / 200, max=1.0) * torch.sin(omega * t))[None]
    a, b = 80, 80 + round(3.3 * cells)
    trace = simulate_traces(medium, source, x, torch.tensor([[a, 1], [b, 1]]))[0].numpy()
    n = np.arange(700, 1300)
    carrier = np.hanning(n.size) * np.exp(-1j * omega * n)
    za, zb = (np.sum(trace[700:1300, i] * carrier) for i in (0, 1))
    lag = np.angle(za / zb) % (2 * math.pi)
    guess = 2 * math.pi / cells * (b - a)
    lag += 2 * math.pi * round((guess - lag) / (2 * math.pi))
    assert lag / (b - a) == pytest.approx(2 * math.pi / cells, rel=5e-4)


def test_min_cells_meets_the_error_bound_exactly():
    for nu in (0.2, 0.5, 0.7):
        n = min_cells_per_wavelength(nu, 0.01)
        assert 1 - phase_velocity_ratio(n, nu) == pytest.approx(0.01, abs=1e-9)
        assert 1 - phase_velocity_ratio(n * 0.99, nu) > 0.01


def test_channel_example_band_is_inside():
    cfg = channel_config()
    rng = np.random.default_rng(0)
    t = np.arange(4000) / cfg.data.sample_rate_hz
    tones = [np.sin(2 * np.pi * f * t) * np.hanning(t.size) for f in (300.0, 700.0, 1200.0)]
    report = band_report(tones + [0.01 * rng.standard_normal(4000)], cfg)
    assert report.ok and report.share_inside > 0.95
    # The tones sit at time_scale x their frequency.
    assert report.median_hz == pytest.approx(700.0 * cfg.time_scale, rel=0.05)


def test_config_outside_its_band_is_refused_in_one_line(tmp_path):
    data = tiny_channel_data()
    # One step per sample at 4x the time scale: stable, but the grid resolves
    # only a quarter of the band the drive passes.
    data["simulation"] = {"time_scale": 80.0, "steps_per_sample": 1}
    path = write_toml(tmp_path / "c.toml", data)
    parse_config(data, str(path))  # the config itself is valid
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "outside the valid band" in lines[0] and "cells per wavelength" in lines[0]
    assert not out.exists()


def test_idealised_template_warns_instead(tmp_path):
    cfg = parse_config(tiny_data(), "tiny")
    assert cfg.template.band.idealised
    rng = np.random.default_rng(1)
    report = band_report([rng.standard_normal(2000)], cfg)
    assert not report.ok
    from designer.band import check_band

    assert check_band(report, cfg).startswith("warning: template photonic-soi is idealised")
