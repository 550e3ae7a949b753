"""The reference engine checked against the physics it discretises."""
from __future__ import annotations

import math

import pytest
import torch

from designer.config import parse_config
from designer.metrics import cross_entropy
from designer.physics import build_medium, layout_from_config
from designer.physics.absorber import damping_profile
from designer.physics.wave import Medium, energy, simulate, step
from tests.conftest import tiny_data


def _pulse(steps: int, period: float, t0: float, width: float) -> torch.Tensor:
    t = torch.arange(steps, dtype=torch.float64)
    return torch.sin(2 * math.pi * (t - t0) / period) * torch.exp(-(((t - t0) / width) ** 2))


def _trace(medium: Medium, src, probe, signal: torch.Tensor) -> torch.Tensor:
    nx, ny = medium.courant.shape
    sw = torch.zeros(nx, ny, dtype=torch.float64)
    sw[src] = 1.0
    u1 = torch.zeros(1, nx, ny, dtype=torch.float64)
    u0 = torch.zeros_like(u1)
    out = []
    for x in signal:
        u0, u1 = u1, step(medium, u1, u0, sw * x)
        out.append(u1[0][probe])
    return torch.stack(out)


def test_density_gradient_matches_central_differences():
    torch.manual_seed(0)
    cfg = parse_config(tiny_data(), "tiny")
    layout = layout_from_config(cfg)
    rho0 = torch.rand(cfg.grid.nx, cfg.grid.ny, dtype=torch.float64) * layout.design_mask
    inputs = torch.randn(2, 120, dtype=torch.float64)
    labels = torch.tensor([0, 2])

    def loss(rho):
        power, _ = simulate(build_medium(rho, cfg, layout), layout.source_weights, inputs, layout.probe_weights)
        return cross_entropy(power, labels)

    rho = rho0.clone().requires_grad_(True)
    loss(rho).backward()
    cells = [(20, 15), (25, 18), (30, 22), (16, 10), (22, 20)]
    eps = 1e-4  # central differences: truncation ~eps^2, round-off ~1e-16 / eps
    fd = []
    for cell in cells:
        plus, minus = rho0.clone(), rho0.clone()
        plus[cell] += eps
        minus[cell] -= eps
        fd.append(float((loss(plus) - loss(minus)) / (2 * eps)))
    fd = torch.tensor(fd, dtype=torch.float64)
    ad = torch.stack([rho.grad[c] for c in cells])
    assert float(fd.abs().min()) > 0
    assert float((ad - fd).norm() / fd.norm()) < 1e-5


def test_plane_pulse_travels_at_the_wave_speed():
    cfg = parse_config(tiny_data(), "tiny")
    c_m_per_s = cfg.template.background.speed_m_per_s
    courant = c_m_per_s * cfg.dt_s / cfg.template.cell_size_m
    nx, ny = 200, 300
    medium = Medium(courant=torch.full((nx, ny), courant, dtype=torch.float64),
                    damping=torch.zeros(nx, ny, dtype=torch.float64))
    sw = torch.zeros(nx, ny, dtype=torch.float64)
    sw[30, 10:-10] = 1.0  # a long line source: a plane wave along x near the centre line
    # A Gaussian-derivative source: a line source radiates its time integral,
    # so each receiver sees a compact Gaussian whose peak marks the arrival.
    t = torch.arange(330, dtype=torch.float64)
    signal = -(t - 60.0) / 15.0**2 * torch.exp(-(((t - 60.0) / 15.0) ** 2))
    u1 = torch.zeros(1, nx, ny, dtype=torch.float64)
    u0 = torch.zeros_like(u1)
    a, b = [], []
    for x in signal:
        u0, u1 = u1, step(medium, u1, u0, sw * x)
        a.append(u1[0, 60, ny // 2])
        b.append(u1[0, 180, ny // 2])

    def peak_time(trace: list) -> float:
        trace = torch.stack(trace)  # the wall echo arrives inverted: not picked
        k = int(trace.argmax())
        y0, y1, y2 = trace[k - 1], trace[k], trace[k + 1]
        return k + 0.5 * float(y0 - y2) / float(y0 - 2 * y1 + y2)

    lag_steps = peak_time(b) - peak_time(a)
    measured = (120 * cfg.template.cell_size_m) / (lag_steps * cfg.dt_s)
    assert measured == pytest.approx(c_m_per_s, rel=0.01)


def test_energy_is_conserved_without_absorption():
    torch.manual_seed(1)
    nx, ny = 40, 30
    courant = 0.3 + 0.3 * torch.rand(nx, ny, dtype=torch.float64)
    medium = Medium(courant=courant, damping=torch.zeros(nx, ny, dtype=torch.float64))
    sw = torch.zeros(nx, ny, dtype=torch.float64)
    sw[20, 15] = 1.0
    signal = _pulse(30, period=8.0, t0=10.0, width=5.0)
    u1 = torch.zeros(1, nx, ny, dtype=torch.float64)
    u0 = torch.zeros_like(u1)
    for x in signal:
        u0, u1 = u1, step(medium, u1, u0, sw * x)
    e0 = energy(medium, u1, u0)
    for _ in range(500):
        u0, u1 = u1, step(medium, u1, u0, torch.zeros_like(sw))
    e1 = energy(medium, u1, u0)
    assert float(e0) > 0
    assert abs(float(e1 - e0)) <= 1e-6 * float(e0)


@pytest.mark.parametrize("period", [8.0, 16.0])
def test_absorbing_layer_reflects_under_one_percent(period):
    width, strength, courant = 20, 0.5, 0.6
    signal = _pulse(300, period=period, t0=4 * period, width=period)

    def run(pad: int) -> torch.Tensor:
        nx, ny = width + 80 + pad, 2 * width + 100 + 2 * pad
        medium = Medium(courant=torch.full((nx, ny), courant, dtype=torch.float64),
                        damping=damping_profile((nx, ny), width, strength))
        return _trace(medium, (width + 50 + pad, ny // 2), (width + 20 + pad, ny // 2), signal)

    near_wall, reference = run(0), run(100)  # the reference's walls echo only after 300 steps
    reflection = float((near_wall - reference).abs().max() / reference.abs().max())
    assert reflection < 0.01
