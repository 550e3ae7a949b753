"""Fused engine: the reference recurrence with a hand-written adjoint, O(sqrt T) memory.

Same equations, arguments and results as :func:`designer.physics.wave.simulate`
(Hughes, Williamson, Minkov & Fan, Science Advances 5, eaay6946, 2019), but the
forward pass runs fused time steps without an autograd graph, keeping only the
pairs (u[jK-1], u[jK]) every K steps, and the backward pass is the discrete
adjoint of the update, run backward in time segment by segment, each segment's
fields recomputed from its checkpoint.

The adjoint. Step n (n = 0 .. T-1, u[0] = u[-1] = 0) is, per cell,

    u[n+1] = a_n (2 u[n] - e_n u[n-1] + c_n^2 L u[n] + s x[n]),
    a_n = 1 / (1 + b_n/2),  e_n = 1 - b_n/2,
    c_n = courant + kerr u[n]^2,  b_n = damping + saturable g_n,
    g_n = 1 / (1 + u[n]^2 / A^2),

and the loss sees power[b, p] = sum_n sum_xy w_p u[n+1]^2 through G = dloss/dpower.
With lambda[m] = dloss/du[m] (lambda[T+1] = 0, lambda[T] = 2 W u[T],
W = sum_p G_p w_p) and mu = lambda[n+1], step n contributes

    d/dc_n = kappa_n = 2 c_n a_n mu L u[n]
    d/db_n = beta_n  = a_n mu (u[n-1] - u[n+1]) / 2
    lambda[n]   += 2 a_n mu + L(c_n^2 a_n mu) + 2 kerr u[n] kappa_n
                   - beta_n saturable 2 u[n] g_n^2 / A^2 + 2 W u[n]
    lambda[n-1] -= e_n a_n mu

(L is symmetric, so it is its own adjoint), and the parameter gradients are the
time sums: courant <- kappa, kerr <- kappa u^2, damping <- beta,
saturable <- beta g, source_weights <- x[n] a_n mu, inputs[n] <- sum(s a_n mu),
probe_weights[p] <- sum_b G_p sum_n u[n]^2.

Linear media (a, e, c constant) carry nu[m] = a lambda[m] instead, which obeys
the forward leapfrog with c^2 moved inside the Laplacian,

    nu[n] = a (2 nu[n+1] - e nu[n+2] + L(c^2 nu[n+1]) + 2 W u[n]),

and the gradients become courant <- 2 c sum nu[n+1] L u[n],
damping <- sum nu[n+1] (u[n-1] - u[n+1]) / 2, source_weights <- sum x[n] nu[n+1].
Gradients agree with the reference's autograd to round-off (tests: 1e-10
relative in float64), and the replay is bit-exact, so K does not change them.

Backends: "numba" (CPU; :mod:`designer.physics.fused_kernels`) and "torch"
(plain tensor ops, any device; the CUDA path). "auto" picks numba on CPU when it
imports, torch otherwise.
"""
from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass

import torch

from .fused_common import Needs, Problem
from .wave import Medium

__all__ = ["simulate_fused", "checkpoint_interval", "BACKENDS"]

BACKENDS = {"numba": "designer.physics.fused_numba", "torch": "designer.physics.fused_torch"}
DTYPES = (torch.float32, torch.float64)


def checkpoint_interval(steps: int, batch: int, concurrent: int) -> int:
    """Default K: minimises stored fields for ``concurrent`` samples replayed at once.

    Checkpoints hold 2 B T / K fields and the replay buffers (K + 2) per
    concurrent sample, so the sum is smallest at K = sqrt(2 B T / concurrent),
    i.e. K grows as sqrt(T) and so does the memory.
    """
    return max(1, min(steps, math.ceil(math.sqrt(2.0 * steps * batch / max(1, concurrent)))))


def _backend(name: str):
    """The backend module, imported on first use (numba loads only when asked for)."""
    return importlib.import_module(BACKENDS[name])


def _pick_backend(name: str, device: torch.device) -> str:
    if name not in BACKENDS and name != "auto":
        raise ValueError(f"unknown backend {name!r}; expected one of: auto, {', '.join(BACKENDS)}")
    if name == "auto":
        if device.type != "cpu":
            return "torch"
        try:
            _backend("numba")
        except ImportError:
            return "torch"
        return "numba"
    if name == "numba" and device.type != "cpu":
        raise ValueError(f"backend 'numba' runs on CPU only, but the tensors are on {device}")
    return name


def _problem(tensors, saturation_amplitude: float) -> Problem:
    """Detached contiguous views: the backends run outside autograd."""
    t = [None if x is None else x.detach().contiguous() for x in tensors]
    return Problem(*t[:4], saturation_amplitude, *t[4:])


@dataclass(frozen=True)
class _Settings:
    saturation_amplitude: float
    record_every: int
    checkpoint_every: int
    backend: str


class _FusedSimulation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, courant, damping, kerr, saturable, source_weights, inputs, probe_weights, settings):
        problem = _problem((courant, damping, kerr, saturable, source_weights, inputs, probe_weights),
                           settings.saturation_amplitude)
        power, frames, ckpt = _backend(settings.backend).forward(
            problem, settings.record_every, settings.checkpoint_every)
        ctx.settings = settings
        ctx.save_for_backward(courant, damping, kerr, saturable, source_weights, inputs, probe_weights, ckpt)
        ctx.mark_non_differentiable(frames)
        return power, frames

    @staticmethod
    def backward(ctx, grad_power, _grad_frames):
        courant, damping, kerr, saturable, source_weights, inputs, probe_weights, ckpt = ctx.saved_tensors
        s = ctx.settings
        problem = _problem((courant, damping, kerr, saturable, source_weights, inputs, probe_weights),
                           s.saturation_amplitude)
        needs = Needs(*ctx.needs_input_grad[:7])
        g = _backend(s.backend).backward(problem, ckpt, s.checkpoint_every, grad_power.contiguous(), needs)
        return (g.courant, g.damping, g.kerr, g.saturable, g.source_weights, g.inputs, g.probe_weights, None)


def _check(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor,
           probe_weights: torch.Tensor, record_every: int, checkpoint_every: int | None) -> None:
    shape = tuple(medium.courant.shape)
    if len(shape) != 2:
        raise ValueError(f"`courant` must be 2-dimensional (nx, ny), but got shape {shape}.")
    named = {"damping": medium.damping, "kerr": medium.kerr, "saturable": medium.saturable,
             "source_weights": source_weights}
    for name, t in named.items():
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"`{name}` must have the courant map's shape {shape}, but got {tuple(t.shape)}.")
    if probe_weights.dim() != 3 or tuple(probe_weights.shape[1:]) != shape:
        raise ValueError(f"`probe_weights` must have shape (P, *{shape}), but got {tuple(probe_weights.shape)}.")
    if inputs.dim() != 2:
        raise ValueError(f"`inputs` must be 2-dimensional (B, T), but got shape {tuple(inputs.shape)}.")
    if record_every < 0:
        raise ValueError(f"`record_every` must be >= 0, but got {record_every}.")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"`checkpoint_every` must be >= 1, but got {checkpoint_every}.")
    if medium.saturable is not None and not medium.saturation_amplitude > 0:
        raise ValueError(f"`saturation_amplitude` must be > 0, but got {medium.saturation_amplitude}.")
    devices = {t.device for t in (*named.values(), medium.courant, inputs, probe_weights) if t is not None}
    if len(devices) > 1:
        raise ValueError(f"all tensors must be on one device, but got {sorted(map(str, devices))}.")


def simulate_fused(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    probe_weights: torch.Tensor,
    record_every: int = 0,
    *,
    checkpoint_every: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fused engine with the arguments and results of :func:`designer.physics.wave.simulate`.

    source_weights: (nx, ny). inputs: (B, T). probe_weights: (P, nx, ny).
    Returns the time-integrated probe intensities (B, P) and, when
    ``record_every > 0``, the field every that many steps (B, ceil(T / record_every),
    nx, ny), else None. Gradients reach every tensor argument.
    checkpoint_every: K, steps between stored field pairs (default
    :func:`checkpoint_interval`). backend: "auto" or a key of ``BACKENDS``.
    All tensors are promoted to one dtype, float32 or float64.
    """
    _check(medium, source_weights, inputs, probe_weights, record_every, checkpoint_every)
    maps = (medium.courant, medium.damping, medium.kerr, medium.saturable)
    tensors = [t for t in (*maps, source_weights, inputs, probe_weights) if t is not None]
    dtype = functools.reduce(torch.promote_types, [t.dtype for t in tensors])
    if dtype not in DTYPES:
        raise ValueError(f"the tensors promote to {dtype}; expected one of: float32, float64.")
    cast = [None if t is None else t.to(dtype) for t in (*maps, source_weights, inputs, probe_weights)]
    name = _pick_backend(backend, inputs.device)
    batch, steps = inputs.shape
    wants = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    if wants:
        every = checkpoint_every or checkpoint_interval(steps, batch, _backend(name).concurrent_samples(batch))
        settings = _Settings(float(medium.saturation_amplitude), record_every, every, name)
        power, frames = _FusedSimulation.apply(*cast, settings)
    else:
        problem = _problem(cast, float(medium.saturation_amplitude))
        power, frames, _ = _backend(name).forward(problem, record_every, None)
    return power, (frames if record_every and steps else None)
