"""CPU backend of the fused engine: tensors in, numba kernels, tensors out.

Imported on first use only: numba and the compiled kernels (cached on disk
after the first compilation, one per dtype) cost about a second to load.
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from . import fused_kernels as kernels
from .fused_common import Grads, Needs, Problem, finish_linear, segments

__all__ = ["concurrent_samples", "forward", "backward"]


def concurrent_samples(batch: int) -> int:
    """Samples whose segment buffers are alive at once: one per worker thread."""
    return max(1, min(batch, numba.get_num_threads()))


def _padded(t: torch.Tensor) -> np.ndarray:
    return np.pad(t.numpy(), 1)


class _Arrays:
    """The problem as the kernels take it: padded map stack and sparse supports."""

    def __init__(self, p: Problem):
        dt = p.courant.numpy().dtype.type
        self.nonlinear = not p.linear
        if p.linear:
            half_b = 0.5 * p.damping
            maps = [p.courant * p.courant, 1.0 / (1.0 + half_b), 1.0 - half_b]
        else:
            zero = torch.zeros_like(p.courant)
            maps = [p.courant, p.damping, zero if p.kerr is None else p.kerr,
                    zero if p.saturable is None else p.saturable]
        self.maps = np.stack([_padded(m) for m in maps])
        self.inv_a2 = dt(1.0 / p.saturation_amplitude**2)
        self.k = (dt(0.5), dt(1.0), dt(2.0), dt(4.0))
        self.x = p.inputs.numpy()
        src = torch.nonzero(p.source_weights)
        self.src = (src[:, 0].numpy(), src[:, 1].numpy(), p.source_weights[src[:, 0], src[:, 1]].numpy())
        prb = torch.nonzero(p.probe_weights)
        weights = p.probe_weights[prb[:, 0], prb[:, 1], prb[:, 2]].numpy()
        self.probes = (prb[:, 1].numpy(), prb[:, 2].numpy(), weights, prb[:, 0].numpy())

    @property
    def common(self) -> tuple:
        return (self.nonlinear, self.maps, self.inv_a2, self.k, self.x, *self.src, *self.probes)


def forward(p: Problem, record_every: int, every: int | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Power (B, P), frames (B, F, nx, ny) and, when ``every`` is given, checkpoints."""
    arrays = _Arrays(p)
    batch, steps = p.inputs.shape
    nx, ny = p.shape
    dtype = p.inputs.dtype
    power = torch.zeros(batch, p.probe_weights.shape[0], dtype=dtype)
    n_ckpt = segments(steps, every) - 1 if every else 0
    ckpt = torch.empty(batch, n_ckpt, 2, nx, ny, dtype=dtype)
    n_frames = len(range(0, steps, record_every)) if record_every else 0
    frames = torch.empty(batch, n_frames, nx, ny, dtype=dtype)
    kernels.forward(*arrays.common, power.numpy(), ckpt.numpy(), every or steps + 1, frames.numpy(),
                    record_every, concurrent_samples(batch))
    return power, frames, ckpt


def backward(p: Problem, ckpt: torch.Tensor, every: int, grad_power: torch.Tensor, needs: Needs) -> Grads:
    """Gradients of sum(grad_power * power) with respect to what ``needs`` asks for."""
    arrays = _Arrays(p)
    batch, steps = p.inputs.shape
    nx, ny = p.shape
    dt = arrays.maps.dtype

    def per_sample(wanted: bool) -> np.ndarray:
        return np.zeros((batch, nx + 2, ny + 2) if wanted else (0, 1, 1), dt)

    g_c, g_d, g_k, g_sat, g_s, q = (per_sample(w) for w in (
        needs.courant, needs.damping, needs.kerr, needs.saturable, needs.source_weights, needs.probe_weights))
    g_x = np.zeros((batch, steps) if needs.inputs else (0, 0), dt)
    gp = np.ascontiguousarray(grad_power.numpy())
    kernels.backward(*arrays.common, gp, ckpt.numpy(), every, concurrent_samples(batch),
                     g_c, g_d, g_k, g_sat, g_s, g_x, q)

    def total(g: np.ndarray) -> torch.Tensor | None:
        return torch.from_numpy(g[:, 1:-1, 1:-1].sum(0)) if g.shape[0] else None

    probe = None
    if needs.probe_weights:
        probe = torch.einsum("bp,bxy->pxy", grad_power, torch.from_numpy(q[:, 1:-1, 1:-1]))
    grads = Grads(courant=total(g_c), damping=total(g_d), kerr=total(g_k), saturable=total(g_sat),
                  source_weights=total(g_s), inputs=torch.from_numpy(g_x) if needs.inputs else None,
                  probe_weights=probe)
    return finish_linear(p, grads) if p.linear else grads
