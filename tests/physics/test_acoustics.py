"""Acoustics with density through the fused engine, checked against the physics it discretises.

p_tt = rho c^2 div(grad p / rho): the energy of the undamped scheme is conserved,
a plane wave reflects at an impedance step with R = (Z2 - Z1) / (Z2 + Z1),
Z = rho c, and a sound-hard wall (1/rho = 0) reflects with R = +1.
"""
from __future__ import annotations

import pytest
import torch

from designer.metrics import cross_entropy
from designer.physics.absorber import damping_profile
from designer.physics.fused import simulate_fused, simulate_traces_fused
from designer.physics.wave import Medium, energy
from tests.physics.test_fused import BACKENDS, make_problem
from tests.physics.test_fused_density import inverse_density


@pytest.mark.parametrize("backend", BACKENDS)
def test_undamped_divergence_form_conserves_the_discrete_energy(backend):
    nx, ny, steps = 30, 24, 3000
    problem = make_problem(nx=nx, ny=ny, batch=1, steps=steps, seed=2)
    medium = Medium(problem["courant"], torch.zeros(nx, ny, dtype=torch.float64),
                    inv_density=inverse_density(nx, ny, seed=2))
    inputs = problem["inputs"]
    inputs[:, 30:] = 0.0  # a 30-step burst, then free oscillation
    with torch.no_grad():
        _, frames = simulate_fused(medium, problem["source_weights"], inputs, problem["probe_weights"], 1,
                                   backend=backend)
    u = frames[0]  # u[1] .. u[T]
    e = energy(medium, u[31:], u[30:-1])  # E[n + 1/2] for n = 31 .. T - 1
    assert float(e.min()) > 0
    assert float((e.max() - e.min()) / e.mean()) < 1e-12
    # The field did travel: the walls and slow cells make this a real test.
    assert float(u[-1].abs().max()) > 1e-3 * float(u[:40].abs().max())


def _channel(nx: int, ny: int, x_step: int, rho2: float | None, c2: float | None, sigma1: float) -> Medium:
    """A y-uniform channel between sound-hard walls (columns 0 and ny - 1), fluid 1 (rho = c = 1)
    for x < x_step and fluid 2 (rho2, c2) beyond it, or a sound-hard wall there when rho2 is inf.

    inv_density = rho1 / rho and courant = c dt / h / sqrt(inv_density), so the local
    Courant number is sigma1 c (the wall cells' courant is irrelevant and set to sigma1).
    """
    q = torch.ones(nx, ny, dtype=torch.float64)
    local = torch.full((nx, ny), sigma1, dtype=torch.float64)
    if rho2 is not None:
        q[x_step:] = 1.0 / rho2
        if c2 is not None:
            local[x_step:] = sigma1 * c2
    q[:, 0] = q[:, -1] = 0.0
    courant = torch.where(q > 0, local / q.clamp(min=1e-300).sqrt(), local)
    return Medium(courant, torch.zeros(nx, ny, dtype=torch.float64), inv_density=q)


def _reflection(rho2: float, c2: float | None, backend: str) -> float:
    """Reflected over incident pressure amplitude of a plane Gaussian pulse at normal incidence.

    A line source across the channel radiates a Gaussian pulse (its signal is a
    Gaussian's derivative). The reflected pulse is the field at a probe minus
    the field without the step; the incident one is taken, without the step, at
    the probe's mirror image about the step face, so both have travelled the
    same distance (and spread the same under the grid's dispersion). The
    domain is long enough that no edge echo arrives before step 1800.
    """
    nx, ny, x_source, x_step, sigma1, width = 1100, 5, 400, 700, 0.3, 40.0
    x_probe = x_step - 120
    x_mirror = 2 * x_step - 1 - x_probe
    t = torch.arange(1800, dtype=torch.float64)
    signal = (-(t - 5 * width) / width**2 * torch.exp(-0.5 * ((t - 5 * width) / width) ** 2))[None]
    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[x_source, 1:-1] = 1.0
    cells = torch.tensor([[x_probe, ny // 2], [x_mirror, ny // 2]])
    with torch.no_grad():
        step = simulate_traces_fused(_channel(nx, ny, x_step, rho2, c2, sigma1), source, signal, cells,
                                     backend=backend)[0]
        free = simulate_traces_fused(_channel(nx, ny, x_step, None, None, sigma1), source, signal, cells,
                                     backend=backend)[0]
    reflected, incident = step[:, 0] - free[:, 0], free[:, 1]
    return float(reflected[reflected.abs().argmax()] / incident[incident.abs().argmax()])


@pytest.mark.parametrize("rho2, c2", [(3.0, 2.0), (0.5, 1.5)], ids=["harder", "softer"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_normal_incidence_reflection_at_a_density_and_speed_step(backend, rho2, c2):
    z1, z2 = 1.0, rho2 * c2
    expected = (z2 - z1) / (z2 + z1)
    assert _reflection(rho2, c2, backend) == pytest.approx(expected, rel=0.01)


def test_matched_impedance_does_not_reflect_despite_a_speed_step():
    """rho c unchanged (rho x 2, c / 2): a speed-only model would reflect -1/3 here."""
    assert abs(_reflection(2.0, 0.5, "numba")) < 0.005


@pytest.mark.parametrize("backend", BACKENDS)
def test_sound_hard_wall_doubles_the_pressure(backend):
    """1/rho = 0 beyond the step: R = +1 (the incident and reflected pressures add)."""
    assert _reflection(float("inf"), None, backend) == pytest.approx(1.0, rel=0.01)


@pytest.mark.parametrize("backend", BACKENDS)
def test_density_model_gradient_matches_central_differences(backend):
    """A design theta sets 1/rho and 1/kappa by linear interpolation (Duhring, Jensen & Sigmund,
    J. Sound Vib. 317, 557 (2008)); the loss sees both through courant and inv_density."""
    nx, ny = 18, 14
    g = torch.Generator().manual_seed(4)
    theta0 = torch.rand(nx, ny, generator=g, dtype=torch.float64)
    direction = torch.randn(nx, ny, generator=g, dtype=torch.float64)
    problem = make_problem(nx=nx, ny=ny, batch=2, steps=70, seed=4)
    damping = damping_profile((nx, ny), 3, 0.3)
    lengths, labels = torch.tensor([70, 52]), torch.tensor([0, 2])
    rho_solid, kappa_solid = 4.0, 9.0  # relative to the fluid: c_solid = 1.5 c_fluid

    def loss(theta: torch.Tensor) -> torch.Tensor:
        inv_rho = 1.0 + theta * (1.0 / rho_solid - 1.0)
        inv_kappa = 1.0 + theta * (1.0 / kappa_solid - 1.0)
        medium = Medium(0.4 / inv_kappa.sqrt(), damping, inv_density=inv_rho)
        power, _ = simulate_fused(medium, problem["source_weights"], problem["inputs"], problem["probe_weights"],
                                  lengths=lengths, backend=backend)
        return cross_entropy(power, labels)

    theta = theta0.clone().requires_grad_(True)
    loss(theta).backward()
    eps = 1e-5  # central differences: truncation ~eps^2, round-off ~1e-16 / eps
    with torch.no_grad():
        fd = float(loss(theta0 + eps * direction) - loss(theta0 - eps * direction)) / (2 * eps)
    ad = float((theta.grad * direction).sum())
    assert abs(fd) > 0
    assert ad == pytest.approx(fd, rel=1e-6)
