"""The channel's boundary-layer loss: a wave in the lossy air decays as exp(-alpha x)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from designer.config import parse_config
from designer.physics import build_medium
from designer.physics.layout import Layout, fluid_loss_per_step
from designer.physics.wave import simulate_traces
from tests.conftest import tiny_channel_data


def test_template_loss_is_kirchhoffs_alpha_at_its_reference_frequency():
    cfg = parse_config(tiny_channel_data(), "channel")
    t = cfg.template
    w, nu, gamma, prandtl = 2 * math.pi * t.losses.reference_hz, 1.5e-5, 1.4, 0.71
    height = t.printing.slab_thickness_m
    alpha = math.sqrt(w * nu / 2) * (1 + (gamma - 1) / math.sqrt(prandtl)) / (t.background.speed_m_per_s * height)
    assert t.losses.fluid_np_per_m == pytest.approx(alpha, rel=0.01)


def test_a_tone_in_the_lossy_channel_decays_at_alpha():
    """A tone in a one-cell channel between PLA walls, absorbed behind the source: amplitude ratio over d cells."""
    cfg = parse_config(tiny_channel_data(), "channel")
    loss = dataclasses.replace(cfg.template.losses, fluid_np_per_m=20.0)  # strong enough to measure over 150 cells
    cfg = dataclasses.replace(cfg, template=dataclasses.replace(cfg.template, losses=loss))
    nx, ny, steps = 700, 3, 2400
    rho = torch.zeros(nx, ny, dtype=torch.float64)
    rho[:, 0] = rho[:, 2] = 1.0
    damping = torch.zeros(nx, ny, dtype=torch.float64)
    damping[:40] = (0.5 * ((40 - torch.arange(40, dtype=torch.float64)) / 40) ** 2)[:, None]
    per_step = fluid_loss_per_step(cfg)
    layout = Layout(*(torch.zeros(nx, ny, dtype=torch.bool),) * 3, torch.zeros(nx, ny), torch.zeros(1, nx, ny),
                    damping, 1, torch.full((nx, ny), per_step, dtype=torch.float64))
    medium = build_medium(rho, cfg, layout)
    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[45, 1] = 1.0
    cells_per_wavelength = 25.0
    courant = float(medium.courant[100, 1])
    omega = 2 * math.asin(courant * math.sin(math.pi / cells_per_wavelength))  # rad per step
    t = torch.arange(steps, dtype=torch.float64)
    x = (torch.clamp(t / 300, max=1.0) * torch.sin(omega * t))[None]
    a, b = 100, 250
    trace = simulate_traces(medium, source, x, torch.tensor([[a, 1], [b, 1]]))[0].numpy()
    n = np.arange(1600, 2400)
    carrier = np.hanning(n.size) * np.exp(-1j * omega * n)
    za, zb = (abs(np.sum(trace[1600:2400, i] * carrier)) for i in (0, 1))
    alpha_measured = math.log(za / zb) / ((b - a) * cfg.template.cell_size_m)
    assert alpha_measured == pytest.approx(loss.fluid_np_per_m, rel=0.01)
