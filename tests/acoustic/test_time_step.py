"""A device's probe powers are a property of the part, not of the time step the scheme takes."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from designer.config import parse_config
from designer.drive import drive_for
from designer.physics import build_medium, layout_from_config
from designer.physics.wave import simulate
from tests.conftest import tiny_channel_data


def _powers(cfg, rho: torch.Tensor, signal: np.ndarray) -> torch.Tensor:
    layout = layout_from_config(cfg)
    x = drive_for(cfg)(torch.as_tensor(signal, dtype=torch.float64))
    power, _ = simulate(build_medium(rho, cfg, layout), layout.source_weights, x, layout.probe_weights)
    return power / power.sum(-1, keepdim=True)


def test_four_times_more_steps_per_sample_give_the_same_probe_powers():
    """The absorber damps per second, not per step: with 4x the steps it takes a quarter per step.

    The leapfrog's time-step error at c dt / h = 0.54 against 0.13 is under 0.1 % in phase over
    the drive's band, so the normalised probe powers of a random part agree to a few 1e-3. Before
    the absorber's strength followed the time step, the 4x run damped 4x harder per second, its
    layer reflected, and the powers moved by tens of percent.
    """
    cfg = parse_config(tiny_channel_data(), "channel")
    fine = dataclasses.replace(cfg, simulation=dataclasses.replace(cfg.simulation,
                                                                     steps_per_sample=4 * cfg.steps_per_sample))
    assert fine.absorber_per_step() == cfg.absorber_per_step() / 4
    rng = np.random.default_rng(3)
    rho = torch.zeros(cfg.grid.nx, cfg.grid.ny, dtype=torch.float64)
    r = cfg.design_region
    rho[r.x0_cells:r.x1_cells, r.y0_cells:r.y1_cells] = torch.as_tensor(
        rng.random((r.x1_cells - r.x0_cells, r.y1_cells - r.y0_cells)) > 0.6, dtype=torch.float64)
    signal = rng.standard_normal((2, 160))
    coarse, finer = _powers(cfg, rho, signal), _powers(fine, rho, signal)
    assert float((coarse - finer).abs().max()) < 5e-3
    # Without the rescaling (the same damping per step at 4x the steps) the layer is another device.
    stiff = dataclasses.replace(fine, grid=dataclasses.replace(fine.grid, absorber_strength=4 * cfg.grid.absorber_strength))
    assert float((coarse - _powers(stiff, rho, signal)).abs().max()) > 4 * float((coarse - finer).abs().max())
