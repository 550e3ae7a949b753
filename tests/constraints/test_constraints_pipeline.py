"""Density pipeline: masks, gradients, and the binary length-scale guarantee."""

import math

import numpy as np
import pytest
import torch

from constraints import (
    FILTERS,
    LengthScaleTargets,
    PipelineSpec,
    binary_density,
    density,
    indicator_penalty,
    measure,
    robust_densities,
    spec_for_targets,
)
from constraints.filters import conic_filter


def _masks(n, frame=2):
    design = np.zeros((n, n), bool)
    design[frame:-frame, frame:-frame] = True
    fixed_solid = np.zeros((n, n), bool)
    fixed_solid[:1, :] = True
    fixed_void = np.zeros((n, n), bool)
    fixed_void[frame : frame + 2, frame : frame + 2] = True  # keep-out inside the design region
    return design, fixed_solid, fixed_void


def test_density_respects_masks():
    n = 16
    design, solid, void = _masks(n)
    theta = torch.randn(3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    rho = density(theta, design, solid, void, PipelineSpec(radius_cells=2.5), beta=4.0)
    assert rho.shape == theta.shape
    assert ((rho >= 0) & (rho <= 1)).all()
    assert (rho[:, solid] == 1).all()
    assert (rho[:, ~design & ~solid] == 0).all()
    assert (rho[:, void] == 0).all()


def test_robust_densities_are_ordered():
    n = 16
    design, solid, void = _masks(n)
    theta = torch.randn(n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    eroded, nominal, dilated = robust_densities(theta, design, solid, void, PipelineSpec(radius_cells=2.0), 8.0)
    assert (eroded <= nominal + 1e-12).all() and (nominal <= dilated + 1e-12).all()


def test_unknown_filter_lists_valid_names():
    with pytest.raises(ValueError, match="conic.*gaussian"):
        PipelineSpec(filter="box")
    assert set(FILTERS) == {"conic", "gaussian"}


@pytest.mark.parametrize("kind", ["conic", "gaussian"])
def test_gradient_matches_finite_differences(kind):
    n = 7
    design, solid, void = _masks(n, frame=1)
    spec = PipelineSpec(filter=kind, radius_cells=1.7 if kind == "conic" else 0.8)
    theta = torch.randn(n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(2), requires_grad=True)

    def robust(t):
        return robust_densities(t, design, solid, void, spec, 3.0)

    assert torch.autograd.gradcheck(lambda t: density(t, design, solid, void, spec, 3.0), (theta,))
    assert torch.autograd.gradcheck(robust, (theta,))


def test_indicator_gradient_and_zero_on_wide_features():
    theta = torch.randn(8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)

    def penalty(t):
        filtered = conic_filter(torch.sigmoid(t), 2.0)
        return indicator_penalty(filtered, filtered, 0.75, 0.25, c=64 * 4.0)

    assert torch.autograd.gradcheck(penalty, (theta,))
    # A half-plane design: the skeleton cells sit deep in each phase, where
    # the filtered field is exactly 1 or 0, so both indicators vanish.
    x = torch.zeros(20, 20, dtype=torch.float64)
    x[:, 10:] = 1
    filtered = conic_filter(x, 3.0)
    g_s, g_v = indicator_penalty(filtered, (filtered > 0.5).double(), 0.75, 0.25, c=64 * 9.0)
    assert g_s.item() == pytest.approx(0, abs=1e-12) and g_v.item() == pytest.approx(0, abs=1e-12)
    # A thin bar has a flat crest below eta_e: the solid indicator fires.
    y = torch.zeros(20, 20, dtype=torch.float64)
    y[:, 10] = 1
    filtered = conic_filter(y, 3.0)
    g_s, _ = indicator_penalty(filtered, torch.ones_like(filtered), 0.75, 0.25, c=64 * 9.0)
    assert g_s.item() > 1e-3


@pytest.mark.parametrize(
    "solid, void, seed",
    [(2.0, 2.0, 0), (2.4, 2.0, 1), (3.0, 4.0, 2), (5.0, 3.0, 3), (4.5, 6.0, 4), (7.0, 7.0, 5)],
)
def test_binary_design_meets_promised_length_scale(solid, void, seed):
    n = 36
    design, fixed_solid, fixed_void = _masks(n)
    spec = spec_for_targets(LengthScaleTargets(solid, void))
    gen = torch.Generator().manual_seed(seed)
    theta = 3 * torch.randn(2, n, n, dtype=torch.float64, generator=gen)
    out = binary_density(theta, design, fixed_solid, fixed_void, spec)
    assert out.dtype == theta.dtype
    assert set(torch.unique(out).tolist()) <= {0.0, 1.0}
    free = design & ~fixed_solid & ~fixed_void
    for sample in out.numpy():
        m = measure(sample, free)
        assert m.min_solid_cells >= solid and m.min_void_cells >= void
        assert (sample[fixed_solid] == 1).all() and (sample[~design & ~fixed_solid] == 0).all()


def test_binary_design_keeps_a_feasible_threshold_design():
    # theta large and smooth: the thresholded nominal design is two wide
    # slabs, which already meet the rule, so the generator must not alter it.
    n = 30
    design = np.ones((n, n), bool)
    none = np.zeros((n, n), bool)
    theta = torch.full((n, n), -6.0, dtype=torch.float64)
    theta[:, 12:] = 6.0
    spec = spec_for_targets(LengthScaleTargets(3.0, 3.0))
    out = binary_density(theta, design, none, none, spec)
    nominal = density(theta, design, none, none, spec, math.inf)
    assert torch.equal(out, nominal)


def test_binary_without_targets_is_threshold():
    n = 12
    design, solid, void = _masks(n)
    theta = torch.randn(n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    spec = PipelineSpec(radius_cells=2.0)
    assert torch.equal(binary_density(theta, design, solid, void, spec), density(theta, design, solid, void, spec, math.inf))
