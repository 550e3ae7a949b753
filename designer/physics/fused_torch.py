"""Tensor-op backend of the fused engine: the whole batch per op, on any device.

This is the CUDA path, and the CPU fallback when numba is missing. The
recurrence and its adjoint are those of :mod:`designer.physics.fused`, written
with torch operations outside autograd; probes and traced cells act through
their support only. Samples shorter than ``lengths`` keep stepping with the
batch, but their power and adjoint sources are masked, so their gradients are
exactly those of a sample simulated alone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .fused_common import Grads, Needs, Outputs, Problem, finish_linear, segments
from .wave import laplacian

__all__ = ["concurrent_samples", "forward", "backward"]


def concurrent_samples(batch: int) -> int:
    """Samples whose segment buffers are alive at once: all of them."""
    return batch


def _gain(p: Problem, u: torch.Tensor | None) -> torch.Tensor:
    """a = 1 / (1 + b/2), b seen by field u (ignored when linear)."""
    b = p.damping
    if p.saturable is not None:
        b = b + p.saturable / (1.0 + (u * u) / p.saturation_amplitude**2)
    return 1.0 / (1.0 + 0.5 * b)


def _gradients(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """grad_h u on the x faces (B, nx + 1, ny) and the y faces (B, nx, ny + 1), zero field outside."""
    return torch.diff(F.pad(u, (0, 0, 1, 1)), dim=1), torch.diff(F.pad(u, (1, 1)), dim=2)


def _divergence(fx: torch.Tensor, fy: torch.Tensor) -> torch.Tensor:
    """div_h of face fluxes (B, nx + 1, ny), (B, nx, ny + 1) -> (B, nx, ny)."""
    return torch.diff(fx, dim=1) + torch.diff(fy, dim=2)


def _divergence_form(u: torch.Tensor, faces: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    gx, gy = _gradients(u)
    return _divergence(faces[0] * gx, faces[1] * gy)


class _Probes:
    """Probe weights and traced cells restricted to their support, with their adjoint scales."""

    def __init__(self, p: Problem):
        flat = p.probe_weights.flatten(1)
        self.cells = torch.nonzero((flat != 0).any(0)).squeeze(1)
        self.weights = flat[:, self.cells]  # (P, S)
        # The linear adjoint carries nu = a lambda, so its probe and trace sources are scaled by a.
        a = _gain(p, None).flatten() if p.linear else torch.ones_like(p.courant).flatten()
        self.adjoint_weights = self.weights * a[self.cells] if p.linear else self.weights
        self.traced = None if p.cells is None else p.cells[:, 0] * p.shape[1] + p.cells[:, 1]
        self.trace_scale = None if self.traced is None else a[self.traced]
        self.lengths = p.lengths

    def mask(self, n: int, like: torch.Tensor) -> torch.Tensor | None:
        """(B, 1) weight 1 for the samples whose power includes step n (n < lengths), or None."""
        return None if self.lengths is None else (n < self.lengths).to(like.dtype)[:, None]

    def power(self, u: torch.Tensor, n: int) -> torch.Tensor | float:
        if not self.cells.numel():  # traces only: no launches spent on an empty power
            return 0.0
        v = u.flatten(1)[:, self.cells]
        term = (v * v) @ self.weights.T
        mask = self.mask(n, term)
        return term if mask is None else term * mask

    def add_adjoint(self, lam: torch.Tensor, u: torch.Tensor, m: int, grad_power: torch.Tensor,
                    grad_traces: torch.Tensor | None) -> torch.Tensor:
        """lam + dloss/du[m] (times a if linear): 2 u sum_p G_p w_p from the power of step m - 1
        and the traces' gradient at step m - 1, both on their support."""
        flat = lam.flatten(1)
        if self.cells.numel():
            mask = self.mask(m - 1, grad_power)
            gp = grad_power if mask is None else grad_power * mask
            flat = flat.index_add(1, self.cells, 2.0 * (gp @ self.adjoint_weights) * u.flatten(1)[:, self.cells])
        if grad_traces is not None and m >= 1:
            flat = flat.index_add(1, self.traced, grad_traces[:, m - 1] * self.trace_scale)
        return flat.view_as(lam)


class _Stepper:
    """u[n+1] = u[n-1] + a (2 (u[n] - u[n-1]) + c^2 A' u[n]) + a s x[n], A' = L or div(f grad)."""

    def __init__(self, p: Problem):
        self.p = p
        if p.linear:
            self.c2, self.a = p.courant * p.courant, _gain(p, None)
            self.source = self.a * p.source_weights

    def operator(self, u: torch.Tensor) -> torch.Tensor:
        """L u or div(f grad u), the spatial operator without c^2."""
        return laplacian(u) if self.p.faces is None else _divergence_form(u, self.p.faces)

    def __call__(self, u1: torch.Tensor, u0: torch.Tensor, n: int) -> torch.Tensor:
        p = self.p
        x = p.inputs[:, n, None, None]
        if p.linear:
            return u0 + self.a * (2.0 * (u1 - u0) + self.c2 * self.operator(u1)) + self.source * x
        c = p.courant if p.kerr is None else p.courant + p.kerr * (u1 * u1)
        a = _gain(p, u1)
        return u0 + a * (2.0 * (u1 - u0) + c * c * laplacian(u1)) + a * p.source_weights * x


def forward(p: Problem, record_every: int, every: int | None) -> Outputs:
    """Power, frames, traces and, when ``every`` is given, checkpoints (see :class:`Outputs`)."""
    batch, steps = p.inputs.shape
    probes, step = _Probes(p), _Stepper(p)
    u0 = p.inputs.new_zeros((batch,) + p.shape)
    u1 = torch.zeros_like(u0)
    power = p.inputs.new_zeros((batch, p.probe_weights.shape[0]))
    ckpt = u0.new_empty((batch, segments(steps, every) - 1 if every else 0, 2) + p.shape)
    frames = u0.new_empty((batch, len(range(0, steps, record_every)) if record_every else 0) + p.shape)
    traces = u0.new_zeros((batch, steps, p.traced) if p.traced else (0, 0, 0))
    for n in range(p.horizon(record_every)):
        u2 = step(u1, u0, n)
        power += probes.power(u2, n)
        if probes.traced is not None:
            traces[:, n] = u2.flatten(1)[:, probes.traced]
        if every and (n + 1) % every == 0 and (n + 1) // every <= ckpt.shape[1]:
            ckpt[:, (n + 1) // every - 1, 0] = u1
            ckpt[:, (n + 1) // every - 1, 1] = u2
        if record_every and n % record_every == 0:
            frames[:, n // record_every] = u2
        u0, u1 = u1, u2
    return Outputs(power, frames, ckpt, traces)


class _Sums:
    """Running time sums of the parameter gradients, over the batch."""

    def __init__(self, p: Problem, needs: Needs):
        def zero(wanted: bool) -> torch.Tensor | None:
            return torch.zeros_like(p.courant) if wanted else None

        self.courant, self.damping, self.kerr = zero(needs.courant), zero(needs.damping), zero(needs.kerr)
        self.saturable, self.source_weights = zero(needs.saturable), zero(needs.source_weights)
        self.faces = tuple(torch.zeros_like(f) for f in p.faces) if needs.faces else None

    @staticmethod
    def add(total: torch.Tensor | None, term) -> None:
        if total is not None:
            total += term().sum(0)


def _linear_adjoint(p, step, sums, late, early, um1, un, up1, n, g_x):
    """(nu[n+1], nu[n+2]) -> (nu[n], nu[n+1]) with nu = a lambda (probes excluded)."""
    if g_x is not None:
        g_x[:, n] = (late * p.source_weights).sum((1, 2))
    sums.add(sums.damping, lambda: late * (um1 - up1))
    sums.add(sums.source_weights, lambda: late * p.inputs[:, n, None, None])
    if p.faces is None:
        sums.add(sums.courant, lambda: late * laplacian(un))
        return early + step.a * (2.0 * (late - early) + laplacian(step.c2 * late)), late
    w = step.c2 * late
    wx, wy = _gradients(w)
    if sums.courant is not None or sums.faces is not None:
        ux, uy = _gradients(un)
        sums.add(sums.courant, lambda: late * _divergence(p.faces[0] * ux, p.faces[1] * uy))
        if sums.faces is not None:
            sums.faces[0].sub_((wx * ux).sum(0))
            sums.faces[1].sub_((wy * uy).sum(0))
    return early + step.a * (2.0 * (late - early) + _divergence(p.faces[0] * wx, p.faces[1] * wy)), late


def _nonlinear_adjoint(p, step, sums, mu, carry, um1, un, up1, n, g_x):
    """(lambda[n+1], e a lambda[n+2]) -> (lambda[n], e a lambda[n+1]) (probes excluded)."""
    uu = un * un
    c = p.courant if p.kerr is None else p.courant + p.kerr * uu
    g = None if p.saturable is None else 1.0 / (1.0 + uu / p.saturation_amplitude**2)
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


def backward(p: Problem, ckpt: torch.Tensor, every: int, grad_power: torch.Tensor,
             grad_traces: torch.Tensor | None, needs: Needs) -> Grads:
    """Gradients of sum(grad_power * power) + sum(grad_traces * traces) for what ``needs`` asks for."""
    batch, steps = p.inputs.shape
    horizon = p.horizon(0)
    probes, step, sums = _Probes(p), _Stepper(p), _Sums(p, needs)
    g_x = torch.zeros_like(p.inputs) if needs.inputs else None
    q = p.inputs.new_zeros((batch,) + p.shape) if needs.probe_weights else None
    adjoint = _linear_adjoint if p.linear else _nonlinear_adjoint
    zero = p.inputs.new_zeros((batch,) + p.shape)
    state = (zero, zero)
    n_seg = segments(horizon, every) if horizon else 0
    for sg in range(n_seg - 1, -1, -1):
        start, stop = sg * every, min(sg * every + every, horizon)
        fields = [ckpt[:, sg - 1, 0], ckpt[:, sg - 1, 1]] if sg else [zero, zero]
        for n in range(start, stop):
            fields.append(step(fields[-1], fields[-2], n))
        if sg == n_seg - 1:
            state = (probes.add_adjoint(zero, fields[-1], horizon, grad_power, grad_traces), zero)
        for n in range(stop - 1, start - 1, -1):
            m = n - start
            if q is not None:
                mask = probes.mask(n, q)
                square = fields[m + 2] * fields[m + 2]
                q += square if mask is None else square * mask[:, :, None]
            new, other = adjoint(p, step, sums, *state, fields[m], fields[m + 1], fields[m + 2], n, g_x)
            state = (probes.add_adjoint(new, fields[m + 1], n, grad_power, grad_traces), other)
    probe = torch.einsum("bp,bxy->pxy", grad_power, q) if q is not None else None
    grads = Grads(courant=sums.courant, damping=sums.damping, kerr=sums.kerr, saturable=sums.saturable,
                  faces=sums.faces, source_weights=sums.source_weights, inputs=g_x, probe_weights=probe)
    return finish_linear(p, grads) if p.linear else grads
