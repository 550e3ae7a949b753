"""Filters and projection: invariants checked with hypothesis."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.filters import conic_filter, gaussian_filter
from constraints.projection import staircase_projection, tanh_projection

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


def test_staircase_of_one_level_is_the_projection():
    x = torch.linspace(0, 1, 101, dtype=torch.float64)
    assert torch.equal(staircase_projection(x, 8.0, 0.4, 1), tanh_projection(x, 8.0, 0.4))


@pytest.mark.parametrize("levels", [2, 4, 7])
def test_staircase_at_infinite_beta_is_exactly_the_levels(levels):
    x = torch.rand(500, generator=torch.Generator().manual_seed(levels), dtype=torch.float64)
    eta = 0.5
    y = staircase_projection(x, math.inf, eta, levels)
    expected = torch.tensor([sum(levels * v - j > eta for j in range(levels)) / levels for v in x.tolist()],
                            dtype=torch.float64)
    assert torch.equal(y, expected)
    assert set(torch.round(y * levels).tolist()) <= set(range(levels + 1))
    assert torch.allclose(y * levels, torch.round(y * levels), atol=1e-12)


@pytest.mark.parametrize("beta", [4.0, 64.0])
def test_staircase_is_monotone_from_zero_to_one_and_sharpens_to_the_levels(beta):
    x = torch.linspace(0, 1, 2001, dtype=torch.float64)
    y = staircase_projection(x, beta, 0.5, 4)
    assert float(y[0]) == pytest.approx(0.0, abs=1e-12) and float(y[-1]) == pytest.approx(1.0, abs=1e-12)
    assert (torch.diff(y) >= -1e-15).all()
    # at eta 0.5 the middle of step j, x = (j + 1/2) / 4, is a fixed point at every beta
    centres = torch.tensor([0.125, 0.375, 0.625, 0.875], dtype=torch.float64)
    assert torch.allclose(staircase_projection(centres, beta, 0.5, 4), centres, atol=1e-12)
    flat = torch.tensor([0.01, 0.26, 0.51, 0.76], dtype=torch.float64)  # just into each step: its lower level
    if beta == 64.0:
        assert torch.allclose(staircase_projection(flat, beta, 0.5, 4), torch.tensor([0.0, 0.25, 0.5, 0.75],
                                                                                      dtype=torch.float64), atol=1e-6)


def test_staircase_gradient_matches_finite_differences():
    x = torch.rand(40, generator=torch.Generator().manual_seed(3), dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: staircase_projection(v, 6.0, 0.45, 3), (x,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("levels", [0, 2.0, -1])
def test_staircase_levels_must_be_a_positive_integer(levels):
    with pytest.raises(ValueError, match="levels"):
        staircase_projection(torch.zeros(3), 4.0, 0.5, levels)
