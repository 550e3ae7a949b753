"""Qian-Sigmund relations and the beta schedule."""

import math

import numpy as np
import pytest

from constraints import LengthScaleTargets, beta_schedule, robust_parameters
from constraints.lengthscale import eta_for_length, radius_for_length


def _hat_filter_1d(x, radius, h):
    """Independent 1D linear-hat filter on a grid of spacing ``h``."""
    s = np.arange(-radius, radius + h / 2, h)
    w = np.maximum(radius - np.abs(s), 0)
    return np.convolve(x, w / w.sum(), mode="same")


@pytest.mark.parametrize("eta_e", [0.55, 0.6, 0.7, 0.75, 0.8, 0.9])
def test_relation_reproduces_blueprint_width_in_1d(eta_e):
    # Qian & Sigmund's 1D argument: the narrowest solid segment that survives
    # erosion at eta_e has, at threshold 1/2, width b = relation(R, eta_e).
    radius, h = 1.0, 1e-3
    grid = np.arange(-4, 4, h)
    lo, hi = 0.0, 2 * radius
    for _ in range(40):  # bisect the segment width whose filtered peak is eta_e
        w = (lo + hi) / 2
        peak = _hat_filter_1d((np.abs(grid) < w / 2).astype(float), radius, h).max()
        lo, hi = (w, hi) if peak < eta_e else (lo, w)
    filtered = _hat_filter_1d((np.abs(grid) < lo / 2).astype(float), radius, h)
    blueprint_width = (filtered > 0.5).sum() * h
    b = radius / radius_for_length(1.0, eta_e)
    assert blueprint_width == pytest.approx(b, abs=5e-3)
    assert eta_for_length(b, radius) == pytest.approx(eta_e)


def test_customary_thresholds():
    p = robust_parameters(LengthScaleTargets(5.0, 5.0))
    assert (p.radius_cells, p.eta_e, p.eta_nominal, p.eta_d) == pytest.approx((5.0, 0.75, 0.5, 0.25))
    p = robust_parameters(LengthScaleTargets(2.4, 2.0))
    assert p.radius_cells == pytest.approx(2.4)
    assert p.eta_e == pytest.approx(0.75)
    assert p.eta_d == pytest.approx(1 - (0.5 + (2.0 / 2.4) ** 2 / 4))


def test_targets_are_validated():
    with pytest.raises(ValueError, match="min_void_cells"):
        LengthScaleTargets(3.0, 1.0)


def test_beta_schedule():
    assert beta_schedule(0, 1.0, 2.0, 10, 64.0) == 1.0
    assert beta_schedule(9, 1.0, 2.0, 10, 64.0) == 1.0
    assert beta_schedule(10, 1.0, 2.0, 10, 64.0) == 2.0
    assert beta_schedule(35, 1.0, 2.0, 10, 64.0) == 8.0
    assert beta_schedule(10**9, 1.0, 2.0, 10, 64.0) == 64.0
    assert beta_schedule(10**9, 1.0, 2.0, 1, math.inf) == math.inf
    with pytest.raises(ValueError, match="every_epochs"):
        beta_schedule(0, 1.0, 2.0, 0, 64.0)
