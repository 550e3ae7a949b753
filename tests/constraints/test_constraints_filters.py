"""Filters and projection: invariants checked with hypothesis."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.filters import conic_filter, gaussian_filter
from constraints.projection import tanh_projection

_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@_SETTINGS
@given(
    seed=st.integers(0, 10_000),
    radius=st.floats(1.0, 4.0),
    kind=st.sampled_from(["conic", "gaussian"]),
)
def test_filter_preserves_total_density_away_from_edges(seed, radius, kind):
    n, margin = 24, 9
    x = torch.zeros(n, n, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    x[margin:-margin, margin:-margin] = torch.from_numpy(rng.random((n - 2 * margin, n - 2 * margin)))
    out = conic_filter(x, radius) if kind == "conic" else gaussian_filter(x, radius / 3)
    assert torch.isclose(out.sum(), x.sum(), rtol=1e-12)


@_SETTINGS
@given(radius=st.floats(0.5, 5.0), value=st.floats(0.0, 1.0))
def test_uniform_field_is_unchanged_up_to_the_edge(radius, value):
    x = torch.full((2, 10, 12), value, dtype=torch.float64)
    for out in (conic_filter(x, radius), gaussian_filter(x, radius)):
        assert out.shape == x.shape
        assert torch.allclose(out, x, atol=1e-12)


def test_conic_weights_are_linear_hat():
    x = torch.zeros(9, 9, dtype=torch.float64)
    x[4, 4] = 1.0
    out = conic_filter(x, 2.0)
    # Weights max(0, 2 - dist): centre 2, edge neighbours 1, diagonals 2 - sqrt(2).
    total = 2 + 4 * 1 + 4 * (2 - math.sqrt(2))
    assert out[4, 4].item() == pytest.approx(2 / total, rel=1e-12)
    assert out[4, 5].item() == pytest.approx(1 / total, rel=1e-12)
    assert out[4, 6].item() == 0.0


@_SETTINGS
@given(
    xs=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30),
    beta=st.floats(0.01, 1e4),
    eta=st.floats(0.05, 0.95),
)
def test_projection_in_unit_interval_and_monotone(xs, beta, eta):
    x = torch.tensor(sorted(xs), dtype=torch.float64)
    y = tanh_projection(x, beta, eta)
    assert ((y >= 0) & (y <= 1)).all()
    assert (torch.diff(y) >= 0).all()


@_SETTINGS
@given(xs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30), eta=st.floats(0.05, 0.95))
def test_infinite_beta_is_exact_threshold(xs, eta):
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(xs, dtype=dtype)
        y = tanh_projection(x, math.inf, eta)
        assert y.dtype == dtype
        assert torch.equal(y, (x > eta).to(dtype))


def test_projection_fixes_end_points():
    y = tanh_projection(torch.tensor([0.0, 1.0], dtype=torch.float64), 8.0, 0.3)
    assert torch.allclose(y, torch.tensor([0.0, 1.0], dtype=torch.float64))
