"""Tensor-op backend of the fused engine: the whole batch per op, on any device.

This is the CUDA path, and the CPU fallback when numba is missing. The
recurrence and its adjoint are those of :mod:`designer.physics.fused`, written
with torch operations outside autograd; probes act through their support only.
"""
from __future__ import annotations

import torch

from .fused_common import Grads, Needs, Problem, finish_linear, segments
from .wave import laplacian

__all__ = ["concurrent_samples", "forward", "backward"]


def concurrent_samples(batch: int) -> int:
    """Samples whose segment buffers are alive at once: all of them."""
    return batch


class _Probes:
    """Probe weights restricted to the cells where any probe is nonzero."""

    def __init__(self, p: Problem):
        flat = p.probe_weights.flatten(1)
        self.cells = torch.nonzero((flat != 0).any(0)).squeeze(1)
        self.weights = flat[:, self.cells]  # (P, S)

    def power(self, u: torch.Tensor) -> torch.Tensor:
        v = u.flatten(1)[:, self.cells]
        return (v * v) @ self.weights.T

    def add_adjoint(self, mu: torch.Tensor, u: torch.Tensor, grad_power: torch.Tensor) -> torch.Tensor:
        """mu + d(power)/du weighted by grad_power: 2 u sum_p G_p w_p on the support."""
        d = 2.0 * (grad_power @ self.weights) * u.flatten(1)[:, self.cells]
        return mu.flatten(1).index_add(1, self.cells, d).view_as(mu)


def _coefficients(p: Problem, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """courant^2, 1 / (1 + b/2) and 1 - b/2 seen by field u."""
    c, b = p.courant, p.damping
    if p.kerr is not None:
        c = c + p.kerr * (u * u)
    if p.saturable is not None:
        b = b + p.saturable / (1.0 + (u * u) / p.saturation_amplitude**2)
    half_b = 0.5 * b
    return c * c, 1.0 / (1.0 + half_b), 1.0 - half_b


def _step(p: Problem, u1: torch.Tensor, u0: torch.Tensor, n: int) -> torch.Tensor:
    c2, a, e = _coefficients(p, u1)
    return (2.0 * u1 - e * u0 + c2 * laplacian(u1)) * a + (a * p.source_weights) * p.inputs[:, n, None, None]


def forward(p: Problem, record_every: int, every: int | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Power (B, P), frames (B, F, nx, ny) and, when ``every`` is given, checkpoints."""
    batch, steps = p.inputs.shape
    probes = _Probes(p)
    u0 = p.inputs.new_zeros((batch,) + p.shape)
    u1 = torch.zeros_like(u0)
    power = p.inputs.new_zeros((batch, p.probe_weights.shape[0]))
    ckpt = u0.new_empty((batch, segments(steps, every) - 1 if every else 0, 2) + p.shape)
    frames = u0.new_empty((batch, len(range(0, steps, record_every)) if record_every else 0) + p.shape)
    for n in range(steps):
        u2 = _step(p, u1, u0, n)
        power += probes.power(u2)
        if every and (n + 1) % every == 0 and (n + 1) // every <= ckpt.shape[1]:
            ckpt[:, (n + 1) // every - 1, 0] = u1
            ckpt[:, (n + 1) // every - 1, 1] = u2
        if record_every and n % record_every == 0:
            frames[:, n // record_every] = u2
        u0, u1 = u1, u2
    return power, frames, ckpt


class _Sums:
    """Running time sums of the parameter gradients, over the batch."""

    def __init__(self, p: Problem, needs: Needs):
        def zero(wanted: bool) -> torch.Tensor | None:
            return torch.zeros_like(p.courant) if wanted else None

        self.courant, self.damping, self.kerr = zero(needs.courant), zero(needs.damping), zero(needs.kerr)
        self.saturable, self.source_weights = zero(needs.saturable), zero(needs.source_weights)

    @staticmethod
    def add(total: torch.Tensor | None, term) -> None:
        if total is not None:
            total += term().sum(0)


def _linear_adjoint(p, sums, mu, carry, um1, un, up1, n, g_x):
    c2, a, e = _coefficients(p, un)
    if g_x is not None:
        g_x[:, n] = (mu * (a * p.source_weights)).sum((1, 2))
    sums.add(sums.courant, lambda: mu * laplacian(un))
    sums.add(sums.damping, lambda: mu * (um1 - up1))
    sums.add(sums.source_weights, lambda: mu * p.inputs[:, n, None, None])
    am = a * mu
    return 2.0 * am - carry + laplacian(c2 * am), e * am


def _nonlinear_adjoint(p, sums, mu, carry, um1, un, up1, n, g_x):
    uu = un * un
    c = p.courant if p.kerr is None else p.courant + p.kerr * uu
    g = 1.0 / (1.0 + uu / p.saturation_amplitude**2)
    half_b = 0.5 * (p.damping if p.saturable is None else p.damping + p.saturable * g)
    am = mu / (1.0 + half_b)
    if g_x is not None:
        g_x[:, n] = (am * p.source_weights).sum((1, 2))
    kappa = 2.0 * c * am * laplacian(un)
    beta = 0.5 * am * (um1 - up1)
    sums.add(sums.courant, lambda: kappa)
    sums.add(sums.kerr, lambda: kappa * uu)
    sums.add(sums.damping, lambda: beta)
    sums.add(sums.saturable, lambda: beta * g)
    sums.add(sums.source_weights, lambda: am * p.inputs[:, n, None, None])
    new = 2.0 * am - carry + laplacian(c * c * am)
    if p.kerr is not None:
        new = new + kappa * 2.0 * p.kerr * un
    if p.saturable is not None:
        new = new - beta * p.saturable * 2.0 * un * g * g / p.saturation_amplitude**2
    return new, (1.0 - half_b) * am


def backward(p: Problem, ckpt: torch.Tensor, every: int, grad_power: torch.Tensor, needs: Needs) -> Grads:
    """Gradients of sum(grad_power * power) with respect to what ``needs`` asks for."""
    batch, steps = p.inputs.shape
    probes = _Probes(p)
    sums = _Sums(p, needs)
    g_x = torch.zeros_like(p.inputs) if needs.inputs else None
    q = p.inputs.new_zeros((batch,) + p.shape) if needs.probe_weights else None
    adjoint = _linear_adjoint if p.linear else _nonlinear_adjoint
    mu = p.inputs.new_zeros((batch,) + p.shape)
    carry = torch.zeros_like(mu)
    n_seg = segments(steps, every)
    for sg in range(n_seg - 1, -1, -1):
        start, stop = sg * every, min(sg * every + every, steps)
        fields = [ckpt[:, sg - 1, 0], ckpt[:, sg - 1, 1]] if sg else [mu.new_zeros(mu.shape)] * 2
        for n in range(start, stop):
            fields.append(_step(p, fields[-1], fields[-2], n))
            if q is not None:
                q += fields[-1] * fields[-1]
        if sg == n_seg - 1:
            mu = probes.add_adjoint(mu, fields[-1], grad_power)
        for n in range(stop - 1, start - 1, -1):
            m = n - start
            mu, carry = adjoint(p, sums, mu, carry, fields[m], fields[m + 1], fields[m + 2], n, g_x)
            mu = probes.add_adjoint(mu, fields[m + 1], grad_power)
    probe = torch.einsum("bp,bxy->pxy", grad_power, q) if q is not None else None
    grads = Grads(courant=sums.courant, damping=sums.damping, kerr=sums.kerr, saturable=sums.saturable,
                  source_weights=sums.source_weights, inputs=g_x, probe_weights=probe)
    return finish_linear(p, grads) if p.linear else grads
