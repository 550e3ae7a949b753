"""The discretised 2D scalar wave equation as a recurrent network.

Hughes, Williamson, Minkov & Fan, "Wave physics as an analog recurrent neural
network", Science Advances 5, eaay6946 (2019): the field is the hidden state,
one leapfrog step is the recurrence and the wave-speed map is the weights.

Everything here is dimensionless: lengths in cells, time in steps. A medium is
given by its Courant map ``courant = c dt / h`` and its damping per step
``damping = b dt``; :mod:`designer.physics.medium` builds them from physical
units. With ``L`` the 5-point Laplacian (zero field outside the grid), one step
of u_tt = c^2 lap(u) - b u_t reads

    (1 + b/2) u[n+1] = 2 u[n] - (1 - b/2) u[n-1] + courant^2 L u[n] + s[n]

with ``s[n] = source_weights * x[n]``. The paper's two nonlinearities act
through the maps as functions of the current field u[n]:
``courant + kerr * u^2`` (intensity-dependent speed) and
``damping + saturable / (1 + u^2 / saturation_amplitude^2)`` (saturable
absorption). Probes integrate u^2 over time, weighted by their masks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Medium", "laplacian", "step", "simulate"]


@dataclass(frozen=True)
class Medium:
    """Dimensionless medium maps, each a tensor of shape (nx, ny).

    courant: c dt / h. damping: b dt (absorbing layer). kerr: Courant change per
    unit u^2, or None. saturable: peak saturable damping per step, or None.
    saturation_amplitude: field amplitude at which the absorption halves.
    """

    courant: torch.Tensor
    damping: torch.Tensor
    kerr: torch.Tensor | None = None
    saturable: torch.Tensor | None = None
    saturation_amplitude: float = 1.0

    @property
    def linear(self) -> bool:
        return self.kerr is None and self.saturable is None


def laplacian(u: torch.Tensor) -> torch.Tensor:
    """5-point Laplacian in cell units of (..., nx, ny), zero field outside."""
    lap = -4.0 * u
    lap[..., 1:, :] += u[..., :-1, :]
    lap[..., :-1, :] += u[..., 1:, :]
    lap[..., :, 1:] += u[..., :, :-1]
    lap[..., :, :-1] += u[..., :, 1:]
    return lap


def local_maps(medium: Medium, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Courant and damping maps seen by field ``u`` (nonlinear terms included)."""
    c, b = medium.courant, medium.damping
    if medium.kerr is not None:
        c = c + medium.kerr * u * u
    if medium.saturable is not None:
        b = b + medium.saturable / (1.0 + (u * u) / medium.saturation_amplitude**2)
    return c, b


def step(medium: Medium, u1: torch.Tensor, u0: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """One leapfrog step: fields u[n] (u1), u[n-1] (u0) -> u[n+1]."""
    c, b = local_maps(medium, u1)
    half_b = 0.5 * b
    return (2.0 * u1 - (1.0 - half_b) * u0 + c * c * laplacian(u1) + source) / (1.0 + half_b)


def simulate(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    probe_weights: torch.Tensor,
    record_every: int = 0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Reference engine: run the recurrence step by step under autograd.

    source_weights: (nx, ny) injection pattern. inputs: (B, T) signals, one
    sample per step. probe_weights: (P, nx, ny). Returns the time-integrated
    probe intensities (B, P) and, when ``record_every > 0``, the field every
    that many steps, (B, T // record_every, nx, ny), else None.
    """
    batch, steps = inputs.shape
    shape = (batch,) + tuple(medium.courant.shape)
    u1 = inputs.new_zeros(shape)
    u0 = inputs.new_zeros(shape)
    power = inputs.new_zeros((batch, probe_weights.shape[0]))
    frames = []
    for n in range(steps):
        u2 = step(medium, u1, u0, source_weights * inputs[:, n, None, None])
        power = power + torch.einsum("bxy,pxy->bp", u2 * u2, probe_weights)
        if record_every and n % record_every == 0:
            frames.append(u2.detach())
        u0, u1 = u1, u2
    return power, (torch.stack(frames, 1) if frames else None)


def energy(medium: Medium, u1: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
    """Discrete energy conserved by the linear, undamped leapfrog scheme.

    E[n+1/2] = sum((u1 - u0)^2 / courant^2) - sum(u1 * L u0), per batch item.
    """
    du = u1 - u0
    kinetic = (du * du / (medium.courant * medium.courant)).flatten(-2).sum(-1)
    potential = -(u1 * laplacian(u0)).flatten(-2).sum(-1)
    return kinetic + potential
