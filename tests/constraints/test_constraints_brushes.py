"""Brush generator: the length-scale guarantee and no corner-to-corner contacts, searched with hypothesis."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from constraints import LengthScaleTargets, binary_density, measure, spec_for_targets
from constraints.brushes import _paint, brush_design
from constraints.measure import diagonal_contacts

_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def _field(seed, shape, smoothing):
    rng = np.random.default_rng(seed)
    f = ndimage.gaussian_filter(rng.random(shape), smoothing)
    return (f - f.min()) / (np.ptp(f) + 1e-12)


@_SETTINGS
@given(
    seed=st.integers(0, 100_000),
    nx=st.integers(6, 36),
    ny=st.integers(6, 36),
    smoothing=st.floats(0.4, 3.0),
    solid=st.integers(1, 5),
    void=st.integers(1, 5),
    cut=st.booleans(),
)
def test_generator_meets_rule_without_diagonal_contacts(seed, nx, ny, smoothing, solid, void, cut):
    field = _field(seed, (nx, ny), smoothing)
    region = np.ones((nx, ny), bool)
    if cut:  # a region that does not fill the array
        region[:2], region[:, -3:] = False, False
    out = brush_design(field, region, 0.5, solid, void)
    m = measure(out, region)
    assert m.min_solid_cells >= solid and m.min_void_cells >= void
    assert not out[~region].any()
    assert len(diagonal_contacts(out)) == 0


@_SETTINGS
@given(seed=st.integers(0, 100_000), radius=st.sampled_from([2.0, 3.0, 4.5]))
def test_default_pipeline_from_random_latents_meets_rule(seed, radius):
    # The pipeline as optimize runs it: random latent field -> sigmoid ->
    # conic filter -> brush generator, for several rules (and so radii).
    n = 28
    design = np.zeros((n, n), bool)
    design[2:-2, 2:-2] = True
    none = np.zeros((n, n), bool)
    spec = spec_for_targets(LengthScaleTargets(radius, radius))
    gen = torch.Generator().manual_seed(seed)
    theta = 4 * torch.randn(n, n, dtype=torch.float64, generator=gen)
    out = binary_density(theta, design, none, none, spec).numpy()
    m = measure(out, design)
    assert m.min_solid_cells >= radius and m.min_void_cells >= radius
    assert m.diagonal_contacts == 0 and len(diagonal_contacts(out)) == 0


def test_single_runs_do_make_contacts_that_the_rounds_remove():
    # Without the rounds, unions of disks meet corner to corner on some
    # fields; the test above would catch a generator that stopped removing them.
    found = 0
    for seed in range(40):
        field = _field(seed, (30, 30), 1.0)
        region = np.ones(field.shape, bool)
        if len(diagonal_contacts(_paint(field, region, 0.5, 2, 2))):
            found += 1
            assert len(diagonal_contacts(brush_design(field, region, 0.5, 2, 2))) == 0
    assert found > 0


def test_frame_counts_as_solid_for_contacts():
    # Frame cells (0, 0..3) lie outside the region; the field wants one
    # solid cell at (1, 4), diagonal to the frame's last cell.
    region = np.ones((6, 8), bool)
    region[0] = False
    frame = np.zeros((6, 8), bool)
    frame[0, :4] = True
    field = np.zeros((6, 8))
    field[1, 4] = 1.0
    blind = brush_design(field, region, 0.5, 1, 1)
    assert blind[1, 4] and len(diagonal_contacts(blind | frame)) == 1
    out = brush_design(field, region, 0.5, 1, 1, fixed_solid=frame)
    assert len(diagonal_contacts(out | frame)) == 0
