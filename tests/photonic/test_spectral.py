"""The frequency-domain engine: against the time-domain engines, against finite differences, against theory."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from designer.config import parse_config
from designer.physics import layout_from_config
from designer.physics.models import build_medium
from designer.physics.models.slab import indices
from designer.physics.slab import loss_per_m, slab_group_index
from designer.physics.spectral import SpectralMedium, intensities, leapfrog_power, spectral_power
from designer.physics.wave import Medium, simulate
from templates import C_VACUUM_M_PER_S
from tests.photonic.carrier import carrier_data


def _lossy_medium(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    nx, ny = 14, 11
    courant = 0.25 + 0.35 * torch.rand(nx, ny, generator=gen, dtype=torch.float64)
    damping = 0.05 + 0.05 * torch.rand(nx, ny, generator=gen, dtype=torch.float64)
    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[3, 5] = 1.0
    probes = torch.zeros(2, nx, ny, dtype=torch.float64)
    probes[0, 10, 3] = 1.0
    probes[1, 11, 7:9] = 0.5
    return Medium(courant, damping), source, probes, gen


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_agrees_with_time_domain_engines_on_a_linear_device(engine):
    """The leapfrog recurrence solved per DFT bin gives the time engines' probe powers (whole ring-down)."""
    from designer.physics import get_engine

    medium, source, probes, gen = _lossy_medium()
    steps, n_fft = 48, 1024
    x = torch.randn(3, steps, generator=gen, dtype=torch.float64)
    padded = torch.cat([x, x.new_zeros(3, n_fft - steps)], 1)  # the ring-down: energy decays by e^-50 within it
    time_power, _ = get_engine(engine)(medium, source, padded, probes)
    spectral = leapfrog_power(medium, source, x, probes, n_fft)
    assert torch.allclose(spectral, time_power, rtol=1e-4, atol=0)
    assert float(((spectral - time_power) / time_power).abs().max()) < 1e-9


def _tiny_carrier(nodes_spacing_hz: float = 9e12, polarisation: str = "hz"):
    data = carrier_data()
    cfg = parse_config(data, "carrier")
    slab = dataclasses.replace(cfg.template.slab, node_spacing_hz=nodes_spacing_hz, polarisation=polarisation)
    return dataclasses.replace(cfg, template=dataclasses.replace(cfg.template, slab=slab))


@pytest.mark.parametrize("polarisation", ["hz", "ez"])
def test_gradients_with_dispersion_match_finite_differences(polarisation):
    """d loss / d rho of the dispersive, lossy slab model (adjoint) against central differences, float64."""
    cfg = _tiny_carrier(polarisation=polarisation)
    layout = layout_from_config(cfg)
    gen = torch.Generator().manual_seed(3)
    rho = (0.2 + 0.6 * torch.rand(layout.design_mask.shape, generator=gen, dtype=torch.float64))
    weights = torch.rand(4, build_medium(rho, cfg, layout).frequencies, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 1])

    def loss(r):
        power = spectral_power(build_medium(r, cfg, layout), layout.source_weights, layout.probe_weights, weights)
        return torch.nn.functional.nll_loss(torch.log(power / power.sum(1, keepdim=True)), labels)

    r = rho.clone().requires_grad_(True)
    loss(r).backward()
    for cell in [(20, 18), (25, 14), (17, 22), (30, 20)]:
        step = 1e-6
        up, down = rho.clone(), rho.clone()
        up[cell] += step
        down[cell] -= step
        numeric = (loss(up) - loss(down)) / (2 * step)
        assert float(r.grad[cell]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-12)


def test_source_and_dtype_errors_are_clear():
    mass = torch.ones(2, 5, 4, dtype=torch.complex128)
    with pytest.raises(ValueError, match="source_weights"):
        intensities(SpectralMedium(mass), torch.zeros(4, 5), torch.tensor([[1, 1]]))


@pytest.mark.parametrize("polarisation", ["hz", "ez"])
def test_pulse_delay_and_attenuation_through_a_uniform_slab_match_theory(polarisation):
    """A narrow-band pulse between two points of a uniform slab: delay (r2 - r1) n_g / c, power exp(-alpha dr).

    The slab (rho = 1 everywhere) at 12.5 nm cells (44 per wavelength, so the
    stencil's own dispersion stays near 0.1 %), a point source 0.5 and 1.5 um
    from the two points, a PML all round. The delay is the phase slope
    d arg(U2 / U1) / d omega, a narrow-band pulse's envelope delay. The
    attenuation is the ratio of U2 / U1 with the template's loss raised to
    5000 dB/cm to that without loss, which cancels the 2D spreading.
    """
    from designer.physics.models import slab as model

    data = carrier_data()
    data["grid"] = {"nx": 52, "ny": 36, "absorber_cells": 6}
    lossless = parse_config(data, "slab")
    lossless = dataclasses.replace(lossless, template=dataclasses.replace(
        lossless.template, slab=dataclasses.replace(lossless.template.slab, polarisation=polarisation)))
    lossy = dataclasses.replace(lossless.template.slab, core_loss_db_per_cm=5000.0)
    lossy = dataclasses.replace(lossless, template=dataclasses.replace(lossless.template, slab=lossy))
    lossless = dataclasses.replace(lossless, template=dataclasses.replace(
        lossless.template, slab=dataclasses.replace(lossless.template.slab, core_loss_db_per_cm=0.0)))
    layout = layout_from_config(lossy, refine=4)
    rho = torch.ones(layout.design_mask.shape, dtype=torch.float64)
    source = torch.zeros_like(rho)
    source[48, 72] = 1.0
    cells = torch.tensor([[88, 72], [168, 72]])
    dr = 80 * lossy.template.cell_size_m / 4
    slab = lossy.template.slab
    for lam_um in (1.45, 1.60, 1.75):
        f0 = C_VACUUM_M_PER_S / (lam_um * 1e-6)
        freqs = f0 * np.array([1 - 2e-3, 1.0, 1 + 2e-3])
        u = _fields(model.build(rho, lossy, layout, freqs), source, cells)
        phase = np.unwrap(np.angle(u[:, 1] / u[:, 0]))
        delay = abs(phase[2] - phase[0]) / (2 * math.pi * (freqs[2] - freqs[0]))
        n_g = slab_group_index(lam_um, 0.22, slab.core, slab.cladding)
        assert delay == pytest.approx(dr * n_g / C_VACUUM_M_PER_S, rel=1e-2)
        clear = _fields(model.build(rho, lossless, layout, freqs[1:2]), source, cells)[0]
        alpha = -math.log(abs(u[1, 1] / u[1, 0]) ** 2 / abs(clear[1] / clear[0]) ** 2) / dr
        assert alpha == pytest.approx(loss_per_m(5000.0), rel=1e-2)


def _fields(medium: SpectralMedium, source: torch.Tensor, cells: torch.Tensor) -> np.ndarray:
    """Complex field (K, C) at ``cells``: the engine's own assembly and solve, kept complex for the phase."""
    from designer.physics.spectral import Pattern, _factor

    nx, ny = medium.shape
    pattern = Pattern(nx, ny)
    out = []
    for k in range(medium.frequencies):
        rhs = -(source.numpy() * medium.source_scale[k]).ravel()
        faces = [np.asarray(f[k].detach().numpy() if torch.is_tensor(f) else f[k]) for f in medium.faces]
        _, u = _factor(pattern.matrix(medium.mass[k].detach().numpy(), *faces), rhs)
        out.append(u.reshape(nx, ny)[cells[:, 0], cells[:, 1]])
    return np.array(out)
