"""Linear-response engine: one impulse simulation per medium, every input by convolution.

A linear, time-invariant medium (no Kerr or saturable map) maps the input
x[m] to the field at cell c by the discrete convolution

    u_c[n+1] = sum_{m=0..n} g_c[n - m] x[m],

where g_c[j] is the field u_c[j+1] that a unit impulse x = delta[n] leaves
after j + 1 steps; this is superposition applied to the recurrence of
:mod:`designer.physics.wave`, exact up to floating-point rounding. A probe's
time-integrated intensity is then

    power[b, p] = sum_{n < L_b} sum_c w_pc (g_c * x_b)[n]^2,

with L_b the steps integrated for sample b (with G gates, G such sums, over
G equal parts of the steps from the first arrival D to L_b;
:mod:`designer.readout`). So one simulation of T steps
(the longest input) records g at the probes' cells, and FFT convolutions give
every sample's power: the cost no longer grows with the batch. Gradients flow
through the convolution (autograd) into the traces and from there through the
trace engine's adjoint into the medium.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .wave import Medium, simulate_traces

__all__ = ["simulate_impulse", "probe_cells", "powers_from_traces", "gate_of_step"]

CHUNK_BYTES = 256 * 2**20  # complex spectra held at once by the convolution


def probe_cells(probe_weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The cells where any probe weighs (C, ndim) and the weights there (P, C)."""
    support = (probe_weights != 0).any(0)
    cells = torch.nonzero(support)
    index = tuple(cells[:, k] for k in range(cells.shape[1]))
    return cells, probe_weights[(slice(None),) + index]


def gate_of_step(steps: int, lengths: torch.Tensor, gates: int, delay: int = 0) -> torch.Tensor:
    """(B, T) gate index of each step, floor((n - D) G / (L_b - D)), and G at the steps not integrated.

    The gates split the steps D <= n < L_b (D: ``delay``, the first arrival):
    gate g of sample b is the steps n with g (L_b - D) / G <= n - D < (g + 1) (L_b - D) / G.
    A sample no longer than D is integrated whole in gate 0.
    """
    n = torch.arange(steps, device=lengths.device)[None, :]
    length = lengths.to(torch.int64)[:, None]
    start = torch.where(length > delay, torch.full_like(length, delay), torch.zeros_like(length))
    index = torch.div((n - start).clamp_min(0) * gates, (length - start).clamp_min(1), rounding_mode="floor")
    return torch.where((n >= start) & (n < length), index, torch.full_like(index, gates))


def powers_from_traces(traces: torch.Tensor, weights: torch.Tensor, inputs: torch.Tensor,
                       lengths: torch.Tensor | None = None, gates: int = 1, gate_delay: int = 0) -> torch.Tensor:
    """Probe powers (B, P), or (B, G P) gate-major with ``gates`` G > 1, of ``inputs`` (B, T).

    The gates split the steps from ``gate_delay`` to each sample's length (:func:`gate_of_step`).
    From impulse traces (T, C) and weights (P, C). The convolution runs in
    float64 (rfft of length >= 2T - 1, chunked over the batch to bound
    memory); the result has the inputs' dtype.
    """
    batch, steps = inputs.shape
    n_fft = 1 << math.ceil(math.log2(max(2 * steps - 1, 2)))
    g = torch.fft.rfft(traces[:steps].double(), n=n_fft, dim=0)  # (F, C)
    per_sample = g.shape[0] * g.shape[1] * 16 * 2
    chunk = max(1, CHUNK_BYTES // per_sample)
    w = weights.double()
    out = []
    for start in range(0, batch, chunk):
        x = inputs[start:start + chunk].double()
        spectrum = torch.fft.rfft(x, n=n_fft, dim=1)[:, :, None] * g[None]  # (b, F, C)
        y = torch.fft.irfft(spectrum, n=n_fft, dim=1)[:, :steps]  # (b, T, C)
        square = y * y
        if gates > 1:
            length = (torch.full((x.shape[0],), steps, device=inputs.device) if lengths is None
                      else lengths[start:start + chunk])
            gate = torch.nn.functional.one_hot(gate_of_step(steps, length, gates, gate_delay), gates + 1)[..., :gates]
            per_gate = torch.einsum("btg,btc->bgc", gate.to(square.dtype), square) @ w.T  # (b, G, P)
            out.append(per_gate.reshape(x.shape[0], -1))
            continue
        if lengths is not None:
            keep = torch.arange(steps, device=inputs.device)[None, :] < lengths[start:start + chunk, None]
            square = square * keep[:, :, None].to(square.dtype)
        out.append(square.sum(1) @ w.T)
    return torch.cat(out).to(inputs.dtype)


def simulate_impulse(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    probe_weights: torch.Tensor,
    record_every: int = 0,
    *,
    lengths: torch.Tensor | None = None,
    gates: int = 1,
    gate_delay: int = 0,
    trace_engine: Callable = simulate_traces,
) -> tuple[torch.Tensor, None]:
    """Probe powers (B, P) with the arguments and results of :func:`designer.physics.wave.simulate`.

    Linear media only; ``record_every`` (field frames) is not available here.
    gates: G > 1 returns (B, G P), each probe's power in G consecutive gates
    of its integration time from step ``gate_delay`` on (:func:`powers_from_traces`).
    trace_engine: a ``simulate_traces``-like function that runs the impulse.
    """
    if not medium.linear:
        raise ValueError("the impulse engine needs a linear medium (no kerr or saturable map); "
                         "use the fused or reference engine")
    if record_every:
        raise ValueError("the impulse engine records no field frames; use the fused or reference engine")
    batch, steps = inputs.shape
    cells, weights = probe_cells(probe_weights)
    impulse = inputs.new_zeros((1, steps))
    impulse[0, 0] = 1.0
    traces = trace_engine(medium, source_weights, impulse, cells)[0]  # (T, C)
    return powers_from_traces(traces, weights, inputs, lengths, gates, gate_delay), None
