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
through the convolution (its gradient written out, :class:`_SquaredConvolution`)
into the traces and from there through the trace engine's adjoint into the medium.
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


def _fft_length(steps: int) -> int:
    """The power of two >= 2T - 1: linear convolutions and correlations of T-step signals without wrap-around."""
    return 1 << math.ceil(math.log2(max(2 * steps - 1, 2)))


def _chunk(n_fft: int, cells: int, real_bytes: int) -> int:
    """Samples per chunk: two complex (F, C) spectra each, at most CHUNK_BYTES in all."""
    return max(1, CHUNK_BYTES // ((n_fft // 2 + 1) * cells * 2 * real_bytes * 2))


def _squared_convolution(traces: torch.Tensor, inputs: torch.Tensor, mask: torch.Tensor | None,
                         keep: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """S (B, G, C) of :class:`_SquaredConvolution`, and the field y (B, C, T) when ``keep``."""
    batch, steps = inputs.shape
    n_fft = _fft_length(steps)
    g = torch.fft.rfft(traces.T, n=n_fft, dim=1)  # (C, F): every transform along the last, contiguous axis
    chunk = _chunk(n_fft, traces.shape[1], traces.element_size())
    fields, sums = [], []
    for start in range(0, batch, chunk):
        x = torch.fft.rfft(inputs[start:start + chunk], n=n_fft, dim=1)  # (b, F)
        y = torch.fft.irfft(x[:, None, :] * g[None], n=n_fft, dim=2)[..., :steps]  # (b, C, T)
        if keep:
            fields.append(y)
        sums.append(torch.einsum("bgt,bct->bgc", mask[start:start + chunk], y * y) if mask is not None
                    else (y * y).sum(2)[:, None, :])
    return torch.cat(sums), (torch.cat(fields) if keep else None)


class _SquaredConvolution(torch.autograd.Function):
    """S[b, g, c] = sum_n M[b, g, n] y[b, n, c]^2 with y[b, n, c] = sum_{m <= n} g_c[n - m] x_b[m], n < T.

    M (B, G, T) weighs the steps into G gates (ones for all steps when None).
    Forward by FFT convolution (rfft length n_fft >= 2T - 1, so no
    wrap-around), chunked over the batch; y is kept for the gradient.

    The gradient is written out rather than left to autograd, which would keep
    the complex products of every chunk and differentiate the FFTs one by one.
    With dy = 2 y sum_g M gS,

        dL/dg_c[k] = sum_{b, n} dy[b, n, c] x_b[n - k]    (a correlation),
        dL/dx_b[m] = sum_{c, n} dy[b, n, c] g_c[n - m],

    each one real FFT of dy per sample and cell and a product summed over the
    batch (or the cells) per frequency. Correlations by FFT of length
    n_fft >= 2T - 1 wrap negative lags onto indices >= T, where the
    zero-padded g and x are zero, so they are exact.
    """

    @staticmethod
    def forward(ctx, traces, inputs, mask):
        sums, fields = _squared_convolution(traces, inputs, mask, keep=True)
        ctx.save_for_backward(traces, inputs, mask, fields)
        return sums

    @staticmethod
    def backward(ctx, grad):
        traces, inputs, mask, y = ctx.saved_tensors
        batch, steps = inputs.shape
        n_fft = _fft_length(steps)
        chunk = _chunk(n_fft, y.shape[1], y.element_size())
        want_traces, want_inputs = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        g_conj = torch.fft.rfft(traces.T, n=n_fft, dim=1).conj() if want_inputs else None
        d_traces = 0
        d_inputs = []
        for start in range(0, batch, chunk):
            part = slice(start, start + chunk)
            weight = (torch.einsum("bgt,bgc->bct", mask[part], grad[part]) if mask is not None
                      else grad[part].transpose(1, 2))  # (b, C, T) or (b, C, 1)
            dy = torch.fft.rfft(2 * y[part] * weight, n=n_fft, dim=2)  # (b, C, F)
            if want_traces:
                x_conj = torch.fft.rfft(inputs[part], n=n_fft, dim=1).conj()
                d_traces = d_traces + (dy * x_conj[:, None, :]).sum(0)
            if want_inputs:
                d_inputs.append(torch.fft.irfft((dy * g_conj[None]).sum(1), n=n_fft, dim=1)[:, :steps])
        d_traces = torch.fft.irfft(d_traces, n=n_fft, dim=1)[:, :steps].T if want_traces else None
        return d_traces, (torch.cat(d_inputs) if want_inputs else None), None


def powers_from_traces(traces: torch.Tensor, weights: torch.Tensor, inputs: torch.Tensor,
                       lengths: torch.Tensor | None = None, gates: int = 1, gate_delay: int = 0) -> torch.Tensor:
    """Probe powers (B, P), or (B, G P) gate-major with ``gates`` G > 1, of ``inputs`` (B, T).

    The gates split the steps from ``gate_delay`` to each sample's length (:func:`gate_of_step`).
    From impulse traces (T, C) and weights (P, C). The convolution
    (:class:`_SquaredConvolution`) runs in the precision of the traces and
    inputs: float32 runs convolve in float32 (powers within about 1e-6 of a
    float64 convolution of the same traces, the precision the float32 traces
    themselves carry; benchmarks/bench_convolution.py), float64 runs in float64.
    The result has the inputs' dtype.
    """
    batch, steps = inputs.shape
    dtype, out_dtype = torch.promote_types(traces.dtype, inputs.dtype), inputs.dtype
    mask = None
    if gates > 1:
        length = torch.full((batch,), steps, device=inputs.device) if lengths is None else lengths
        gate = gate_of_step(steps, length, gates, gate_delay)
        mask = torch.nn.functional.one_hot(gate, gates + 1)[..., :gates].transpose(1, 2).to(dtype)  # (B, G, T)
    elif lengths is not None:
        mask = (torch.arange(steps, device=inputs.device)[None, :] < lengths[:, None]).to(dtype)[:, None, :]
    traces, inputs = traces[:steps].to(dtype), inputs.to(dtype)
    if torch.is_grad_enabled() and (traces.requires_grad or inputs.requires_grad):
        per_cell = _SquaredConvolution.apply(traces, inputs, mask)  # (B, G, C)
    else:  # evaluation: nothing kept for a gradient
        per_cell = _squared_convolution(traces, inputs, mask)[0]
    return (per_cell @ weights.to(dtype).T).reshape(batch, -1).to(out_dtype)


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
