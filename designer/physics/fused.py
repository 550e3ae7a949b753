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

Density (:mod:`designer.physics.wave`: linear media with ``inv_density``).
The spatial operator is A = C^2 M with C = diag(courant) and
M = div_h(f grad_h) = -D^T F D, where D takes cell values to differences on
the faces (u[i] - u[i-1], zero field outside, so the boundary faces see the
cell against 0) and F = diag(f) holds the face coefficients of
``wave.face_coefficients``. M is symmetric, so A^T = M^T C^2 = -D^T F D C^2:
the adjoint moves c^2 inside the operator exactly as it moves inside L above
(L is the case F = 1), and the linear nu = a lambda recursion carries over
with L replaced by M,

    nu[n] = a (2 nu[n+1] - e nu[n+2] + M(c^2 nu[n+1]) + 2 W u[n]).

The courant gradient is 2 c sum nu[n+1] M u[n]; each face's coefficient f
enters only the term f (D u)_f, so with w = c^2 nu[n+1] its gradient is

    d/df = -sum_n (D w)_f (D u[n])_f,

and autograd maps the face gradients back to ``inv_density`` through
``face_coefficients`` (harmonic means, boundary faces, q = 0 walls included).

Lengths. Sample b's power sums steps n < lengths[b], so its loss depends on
u[1..L] only: its adjoint starts at lambda[L] = 2 W u[L] and its gradient
with respect to inputs[b, n >= L] is zero. The CPU kernels stop that sample's
steps at L (unless frames or traces are recorded); the tensor backend keeps it
in the batch with its power and adjoint sources masked.

Traces. ``simulate_traces_fused`` returns traces[:, n, c] = u[n+1] at cell c.
With G = dloss/dtraces the adjoint is the same recursion with the probe source
2 W u[m] replaced by G[:, m-1, c] at the traced cells (times a for nu).

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
from .wave import Medium, check_cells, check_lengths, face_coefficients

__all__ = ["simulate_fused", "simulate_traces_fused", "checkpoint_interval", "BACKENDS"]

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


# The differentiable tensors, in the order the autograd function takes them.
_ARGS = ("courant", "damping", "kerr", "saturable", "face_x", "face_y", "source_weights", "inputs", "probe_weights")


@dataclass(frozen=True)
class _Settings:
    saturation_amplitude: float
    record_every: int
    checkpoint_every: int | None
    backend: str


def _problem(tensors, settings: _Settings, lengths, cells) -> Problem:
    """Detached contiguous views: the backends run outside autograd."""
    t = [None if x is None else x.detach().contiguous() for x in tensors]
    faces = None if t[4] is None else (t[4], t[5])
    return Problem(*t[:4], settings.saturation_amplitude, *t[6:], faces=faces, lengths=lengths, cells=cells)


class _FusedSimulation(torch.autograd.Function):
    """Power (B, P), frames and traces (B, T, C) of one fused run; the adjoint in ``backward``."""

    @staticmethod
    def forward(ctx, courant, damping, kerr, saturable, face_x, face_y, source_weights, inputs, probe_weights,
                settings, lengths, cells):
        problem = _problem((courant, damping, kerr, saturable, face_x, face_y, source_weights, inputs,
                            probe_weights), settings, lengths, cells)
        out = _backend(settings.backend).forward(problem, settings.record_every, settings.checkpoint_every)
        ctx.settings = settings
        ctx.save_for_backward(courant, damping, kerr, saturable, face_x, face_y, source_weights, inputs,
                              probe_weights, lengths, cells, out.checkpoints)
        ctx.mark_non_differentiable(out.frames)
        return out.power, out.frames, out.traces

    @staticmethod
    def backward(ctx, grad_power, _grad_frames, grad_traces):
        *tensors, lengths, cells, ckpt = ctx.saved_tensors
        s = ctx.settings
        problem = _problem(tensors, s, lengths, cells)
        wants = dict(zip(_ARGS, ctx.needs_input_grad))
        needs = Needs(wants["courant"], wants["damping"], wants["kerr"], wants["saturable"],
                      wants["face_x"] or wants["face_y"], wants["source_weights"], wants["inputs"],
                      wants["probe_weights"])
        traced = None if cells is None else grad_traces.contiguous()
        g = _backend(s.backend).backward(problem, ckpt, s.checkpoint_every, grad_power.contiguous(), traced, needs)
        fx, fy = g.faces if g.faces is not None else (None, None)
        return (g.courant, g.damping, g.kerr, g.saturable, fx, fy, g.source_weights, g.inputs, g.probe_weights,
                None, None, None)


def _check(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor,
           probe_weights: torch.Tensor | None, record_every: int, checkpoint_every: int | None) -> None:
    shape = tuple(medium.courant.shape)
    if len(shape) != 2:
        raise ValueError(f"`courant` must be 2-dimensional (nx, ny), but got shape {shape}.")
    named = {"damping": medium.damping, "kerr": medium.kerr, "saturable": medium.saturable,
             "inv_density": medium.inv_density, "source_weights": source_weights}
    for name, t in named.items():
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"`{name}` must have the courant map's shape {shape}, but got {tuple(t.shape)}.")
    if medium.inv_density is not None and not medium.linear:
        raise ValueError("a medium with `inv_density` must be linear (no kerr or saturable map).")
    if probe_weights is not None and (probe_weights.dim() != 3 or tuple(probe_weights.shape[1:]) != shape):
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


def _run(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor, probe_weights: torch.Tensor,
         record_every: int, lengths: torch.Tensor | None, cells: torch.Tensor | None,
         checkpoint_every: int | None, backend: str):
    """Cast to one dtype, build the face coefficients, run with or without the adjoint."""
    maps = (medium.courant, medium.damping, medium.kerr, medium.saturable)
    tensors = [t for t in (*maps, medium.inv_density, source_weights, inputs, probe_weights) if t is not None]
    dtype = functools.reduce(torch.promote_types, [t.dtype for t in tensors])
    if dtype not in DTYPES:
        raise ValueError(f"the tensors promote to {dtype}; expected one of: float32, float64.")
    faces = (None, None)
    if medium.inv_density is not None:
        # Autograd maps the adjoint's face gradients back to inv_density through this.
        faces = face_coefficients(medium.inv_density.to(dtype))
    cast = [None if t is None else t.to(dtype) for t in (*maps, *faces, source_weights, inputs, probe_weights)]
    name = _pick_backend(backend, inputs.device)
    batch, steps = inputs.shape
    lengths = None if lengths is None else lengths.to(device=inputs.device, dtype=torch.int64).contiguous()
    cells = None if cells is None else cells.to(device=inputs.device, dtype=torch.int64).contiguous()
    wants = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    if wants:
        every = checkpoint_every or checkpoint_interval(steps, batch, _backend(name).concurrent_samples(batch))
        settings = _Settings(float(medium.saturation_amplitude), record_every, every, name)
        return _FusedSimulation.apply(*cast, settings, lengths, cells)
    settings = _Settings(float(medium.saturation_amplitude), record_every, None, name)
    out = _backend(name).forward(_problem(cast, settings, lengths, cells), record_every, None)
    return out.power, out.frames, out.traces


def simulate_fused(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    probe_weights: torch.Tensor,
    record_every: int = 0,
    *,
    lengths: torch.Tensor | None = None,
    checkpoint_every: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fused engine with the arguments and results of :func:`designer.physics.wave.simulate`.

    source_weights: (nx, ny). inputs: (B, T). probe_weights: (P, nx, ny).
    lengths: (B,) integers in [0, T], the steps integrated into each sample's
    power (default all T). Returns the time-integrated probe intensities
    (B, P) and, when ``record_every > 0``, the field every that many steps
    (B, ceil(T / record_every), nx, ny), else None. Gradients reach every
    tensor argument and the medium's maps, ``inv_density`` included.
    checkpoint_every: K, steps between stored field pairs (default
    :func:`checkpoint_interval`). backend: "auto" or a key of ``BACKENDS``.
    All tensors are promoted to one dtype, float32 or float64.
    """
    _check(medium, source_weights, inputs, probe_weights, record_every, checkpoint_every)
    check_lengths(lengths, *inputs.shape)
    power, frames, _ = _run(medium, source_weights, inputs, probe_weights, record_every, lengths, None,
                            checkpoint_every, backend)
    return power, (frames if record_every and inputs.shape[1] else None)


def simulate_traces_fused(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    cells: torch.Tensor,
    *,
    checkpoint_every: int | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Fused :func:`designer.physics.wave.simulate_traces`: u[n+1] at ``cells`` after every step.

    cells: (C, 2) integer indices. Returns (B, T, C), differentiable with
    respect to the medium's maps, source_weights and inputs, with the memory
    of the power path (O(sqrt T) fields) plus the traces themselves.
    checkpoint_every and backend as in :func:`simulate_fused`.
    """
    _check(medium, source_weights, inputs, None, 0, checkpoint_every)
    check_cells(cells, tuple(medium.courant.shape))
    no_probes = source_weights.new_zeros((0,) + tuple(medium.courant.shape))
    _, _, traces = _run(medium, source_weights, inputs, no_probes, 0, None, cells, checkpoint_every, backend)
    return traces
