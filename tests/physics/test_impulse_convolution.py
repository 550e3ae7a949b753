"""The impulse engine's convolution: its written-out gradient against finite differences, its precision."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from designer.physics.impulse import powers_from_traces


def _problem(steps: int, cells: int = 3, batch: int = 2, probes: int = 2, dtype=torch.float64, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    decay = torch.exp(-torch.arange(steps, dtype=torch.float64) / (steps / 3))[:, None]
    traces = torch.randn(steps, cells, generator=gen, dtype=torch.float64) * decay
    weights = torch.rand(probes, cells, generator=gen, dtype=torch.float64)
    inputs = torch.randn(batch, steps, generator=gen, dtype=torch.float64)
    return traces.to(dtype), weights.to(dtype), inputs.to(dtype)


def test_powers_are_the_weighted_squared_causal_convolution():
    traces, weights, inputs = _problem(steps=37, cells=4, batch=3)
    lengths = torch.tensor([37, 20, 9])
    power = powers_from_traces(traces, weights, inputs, lengths)
    t, w, x = traces.numpy(), weights.numpy(), inputs.numpy()
    for b, n in enumerate(lengths.tolist()):
        field = np.stack([np.convolve(x[b], t[:, c])[:n] for c in range(t.shape[1])], axis=1)  # (n, C)
        assert np.allclose(power[b].numpy(), w @ (field**2).sum(0), rtol=1e-12)
    assert powers_from_traces(traces, weights, inputs.float()).dtype == torch.float32  # the inputs' dtype


@pytest.mark.parametrize("gates, lengths", [(1, None), (1, [11, 6]), (3, [11, 8])])
def test_gradient_matches_finite_differences(gates, lengths):
    """Both gradients, traces (what training needs) and inputs, written out by hand, against central differences."""
    traces, weights, inputs = _problem(steps=11)
    lengths = None if lengths is None else torch.tensor(lengths)

    def powers(t, x):
        return powers_from_traces(t, weights, x, lengths, gates=gates, gate_delay=2)

    assert torch.autograd.gradcheck(powers, (traces.requires_grad_(True), inputs.requires_grad_(True)),
                                    eps=1e-6, atol=1e-7, rtol=1e-6)


def test_float32_convolution_keeps_float32_precision():
    """A float32 run convolves in float32: its powers and trace gradient stay within float32's reach of float64's."""
    results = {}
    for dtype in (torch.float64, torch.float32):
        traces, weights, inputs = _problem(steps=900, cells=6, batch=5, probes=3, dtype=dtype, seed=1)
        traces.requires_grad_(True)
        power = powers_from_traces(traces, weights, inputs, torch.tensor([900, 700, 500, 300, 900]), gates=2)
        assert power.dtype == dtype
        (power * torch.linspace(0.5, 1.5, power.shape[1], dtype=dtype)).sum().backward()
        results[dtype] = (power.detach().double(), traces.grad.double())
    (p64, g64), (p32, g32) = results[torch.float64], results[torch.float32]
    assert float(((p32 - p64) / p64).abs().max()) < 1e-5
    assert float((g32 - g64).abs().max() / g64.abs().max()) < 1e-5
