"""CPU backend of the fused engine: tensors in, numba kernels, tensors out.

Imported on first use only. The kernels compile on their first call, once per
dtype (about 10 s each), and are cached on disk next to their source.
The kernels release the GIL; ``NUMBA_NUM_THREADS`` threads (default: the CPU
count) split the batch between them, sample by sample, with denormals flushed.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numba
import numpy as np
import torch

from . import fused_kernels as kernels
from .fused_common import Grads, Needs, Outputs, Problem, finish_linear, segments

__all__ = ["concurrent_samples", "forward", "backward"]


def concurrent_samples(batch: int) -> int:
    """Samples whose segment buffers are alive at once: one per worker thread."""
    return max(1, min(batch, numba.config.NUMBA_NUM_THREADS))


def _spread(run: Callable[[int, int], None], batch: int) -> None:
    """Call run(first, stride) on each worker; worker w takes samples w, w + stride, ...

    Workers are fresh threads that flush denormals to zero: fields far ahead
    of a wavefront reach 1e-38 and below in float32, where each operation on a
    denormal costs a microcode assist (up to a third of the run time, measured).
    The caller's thread keeps its floating-point mode.
    """
    workers = concurrent_samples(batch)

    def task(first: int) -> None:
        torch.set_flush_denormal(True)
        run(first, workers)

    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(task, w) for w in range(workers)]:
            done.result()


def _padded(t: torch.Tensor) -> np.ndarray:
    return np.pad(t.numpy(), 1)


class _Arrays:
    """The problem as the kernels take it: padded map stack and sparse supports.

    The kernels vectorise along the last axis, whose length modulo the vector
    width runs as scalar code, so the grid is transposed when that makes the
    last axis the longer one (160 x 100 runs as 100 x 160); the two face
    tensors then swap roles.
    """

    def __init__(self, p: Problem):
        dt = p.courant.numpy().dtype.type
        self.flip = p.shape[0] > p.shape[1]
        self.nonlinear = not p.linear
        zero = torch.zeros_like(p.courant)
        if p.linear:
            maps = [p.courant * p.courant, 1.0 / (1.0 + 0.5 * p.damping)]
        else:
            maps = [p.courant, zero if p.kerr is None else p.kerr, 1.0 + 0.5 * p.damping,
                    zero if p.saturable is None else 0.5 * p.saturable]
        self.maps = np.ascontiguousarray(np.stack([_padded(self.orient(m)) for m in maps]))
        nx, ny = self.shape
        self.faces = np.zeros((2, nx + 2, ny + 2) if p.faces is not None else (0, 1, 1), self.maps.dtype)
        if p.faces is not None:
            fx, fy = (self.orient(f).numpy() for f in (p.faces[::-1] if self.flip else p.faces))
            self.faces[0, 1:, 1:-1] = fx
            self.faces[1, 1:-1, 1:] = fy
        self.inv_a2 = dt(0.0 if p.saturable is None else 1.0 / p.saturation_amplitude**2)
        self.k = (dt(0.5), dt(1.0), dt(2.0), dt(4.0))
        self.x = p.inputs.numpy()
        source = self.orient(p.source_weights).numpy()
        i, j = np.nonzero(source)
        self.src = (i, j, source[i, j])
        probes = self.orient(p.probe_weights).numpy()
        pid, i, j = np.nonzero(probes)
        weights = probes[pid, i, j]
        self.probes = (i, j, weights, pid)
        # The linear adjoint carries nu = a lambda, so its probe and trace sources are scaled by a.
        self.adjoint_weights = weights * self.maps[1, i + 1, j + 1] if p.linear else weights
        cells = np.zeros((0, 2), np.int64) if p.cells is None else p.cells.numpy()
        i, j = (cells[:, 1], cells[:, 0]) if self.flip else (cells[:, 0], cells[:, 1])
        self.traced = (np.ascontiguousarray(i), np.ascontiguousarray(j))
        self.trace_weights = self.maps[1, i + 1, j + 1] if p.linear else np.ones(len(i), self.maps.dtype)
        full = np.full(p.batch, p.steps, np.int64)
        self.lengths = full if p.lengths is None else np.ascontiguousarray(p.lengths.numpy(), dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return self.maps.shape[1] - 2, self.maps.shape[2] - 2

    def orient(self, t: torch.Tensor) -> torch.Tensor:
        """Between the caller's (..., nx, ny) and the kernels' layout, either way."""
        return t.transpose(-1, -2) if self.flip else t

    def face_grads(self, g: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The caller's (nx + 1, ny) and (nx, ny + 1) face gradients from the kernels' (B, 2, ...) sums."""
        total = torch.from_numpy(g.sum(0))
        fx, fy = (self.orient(f).contiguous() for f in (total[0, 1:, 1:-1], total[1, 1:-1, 1:]))
        return (fy, fx) if self.flip else (fx, fy)

    @property
    def common(self) -> tuple:
        return (self.nonlinear, self.maps, self.faces, self.inv_a2, self.k, self.x, *self.src, *self.probes,
                *self.traced, self.lengths)


def forward(p: Problem, record_every: int, every: int | None) -> Outputs:
    """Power, frames, traces and, when ``every`` is given, checkpoints (see :class:`Outputs`).

    The checkpoints may be a transposed view of the kernels' layout.
    """
    arrays = _Arrays(p)
    batch, steps = p.inputs.shape
    dtype = p.inputs.dtype
    power = torch.zeros(batch, p.probe_weights.shape[0], dtype=dtype)
    ckpt = torch.empty(batch, segments(steps, every) - 1 if every else 0, 2, *arrays.shape, dtype=dtype)
    frames = torch.empty(batch, len(range(0, steps, record_every)) if record_every else 0, *arrays.shape,
                         dtype=dtype)
    traces = torch.zeros((batch, steps, p.traced) if p.traced else (0, 0, 0), dtype=dtype)
    out = (power.numpy(), ckpt.numpy(), every or steps + 1, frames.numpy(), record_every, traces.numpy())
    _spread(lambda first, stride: kernels.forward(*arrays.common, *out, first, stride), batch)
    return Outputs(power, arrays.orient(frames).contiguous(), arrays.orient(ckpt), traces)


def backward(p: Problem, ckpt: torch.Tensor, every: int, grad_power: torch.Tensor,
             grad_traces: torch.Tensor | None, needs: Needs) -> Grads:
    """Gradients of sum(grad_power * power) + sum(grad_traces * traces) for what ``needs`` asks for."""
    arrays = _Arrays(p)
    batch, steps = p.inputs.shape
    nx, ny = arrays.shape
    dt = arrays.maps.dtype

    def per_sample(wanted: bool) -> np.ndarray:
        return np.zeros((batch, nx + 2, ny + 2) if wanted else (0, 1, 1), dt)

    g_c, g_d, g_k, g_sat, g_s, q = (per_sample(w) for w in (
        needs.courant, needs.damping, needs.kerr, needs.saturable, needs.source_weights, needs.probe_weights))
    g_f = np.zeros((batch, 2, nx + 2, ny + 2) if needs.faces else (0, 1, 1, 1), dt)
    g_x = np.zeros((batch, steps) if needs.inputs else (0, 0), dt)
    gp = np.ascontiguousarray(grad_power.numpy())
    gt = np.zeros((0, 0, 0), dt) if grad_traces is None else np.ascontiguousarray(grad_traces.numpy())
    head = (*arrays.common, arrays.adjoint_weights, arrays.trace_weights, gp, gt, arrays.orient(ckpt).numpy(), every)
    tail = (g_c, g_d, g_k, g_sat, g_f, g_s, g_x, q)
    _spread(lambda first, stride: kernels.backward(*head, first, stride, *tail), batch)

    def total(g: np.ndarray) -> torch.Tensor | None:
        return arrays.orient(torch.from_numpy(g[:, 1:-1, 1:-1].sum(0))).contiguous() if g.shape[0] else None

    probe = None
    if needs.probe_weights:
        squares = arrays.orient(torch.from_numpy(q[:, 1:-1, 1:-1]))
        probe = torch.einsum("bp,bxy->pxy", grad_power, squares)
    grads = Grads(courant=total(g_c), damping=total(g_d), kerr=total(g_k), saturable=total(g_sat),
                  faces=arrays.face_grads(g_f) if needs.faces else None, source_weights=total(g_s),
                  inputs=torch.from_numpy(g_x) if needs.inputs else None, probe_weights=probe)
    return finish_linear(p, grads) if p.linear else grads
