"""Hand-drawn designs with known length scales (cells)."""

import math

import numpy as np
import pytest

from constraints.measure import diagonal_contacts, disk, grayness, measure, min_solid_length, min_void_length, violations


@pytest.mark.parametrize("w", range(1, 9))
def test_bar_measures_its_width(w):
    # A bar crossing the whole region: its ends are cut by the boundary, so
    # only its width counts; the void around it touches the boundary too.
    x = np.zeros((24, 24), bool)
    x[:, 8 : 8 + w] = True
    assert min_solid_length(x) == w
    assert min_solid_length(x.T) == w


@pytest.mark.parametrize("w", range(1, 9))
def test_gap_measures_its_width(w):
    x = np.ones((24, 24), bool)
    x[8 : 8 + w, :] = False
    assert min_void_length(x) == w
    assert min_solid_length(x) == math.inf  # both solid slabs are cut by the boundary


@pytest.mark.parametrize("d", [2, 3, 4, 5, 8, 11])
def test_isolated_disk_measures_its_diameter(d):
    x = np.pad(disk(d), 6)
    assert min_solid_length(x) == d


def test_disks_are_not_nested_so_sizes_are_judged_as_a_family():
    # disk(4) is not a union of disk(3) squares: a single-size opening test
    # would fail at 3 and pass at 4. The family definition gives 4.
    x = np.pad(disk(4), 4)
    assert not violations(x, 3).any()  # every cell lies in the disk(4) itself
    assert min_solid_length(x) == 4


def test_ring():
    # Void hole exactly disk(9); the solid annulus is at least 5 cells wide
    # along the axes and thinner nowhere by more than a pixel step.
    outer = np.pad(disk(21), 4)
    hole = np.pad(disk(9), 10)
    ring = outer & ~hole
    m = measure(ring)
    assert m.min_void_cells == 9
    assert 4 <= m.min_solid_cells <= 6


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_checkerboard(k):
    # Squares have sharp corners: disks of diameter <= 3 are squares and fit
    # k-squares, rounder disks never reach a square's corner cell.
    n = 6 * k
    i = np.arange(n)
    board = ((i[:, None] // k + i[None, :] // k) % 2) == 0
    m = measure(board)
    assert m.min_solid_cells == min(k, 3)
    assert m.min_void_cells == min(k, 3)


def test_feature_cut_by_region_edge_is_excepted():
    # A 2-cell-deep solid sliver along the top edge of a 20x20 region: it is
    # the visible part of a feature that continues outside the region.
    x = np.zeros((20, 20), bool)
    x[:2, 5:15] = True
    assert min_solid_length(x) > 2
    # The same sliver away from the edge is a 2-cell feature.
    y = np.roll(x, 8, axis=0)
    assert min_solid_length(y) == 2


def test_design_mask_excepts_cells_outside():
    x = np.zeros((20, 20), bool)
    x[5:7, :] = True  # 2-wide bar
    mask = np.zeros((20, 20), bool)
    mask[6:, :] = True  # the bar is cut by the mask boundary: 1 row visible
    assert min_solid_length(x) == 2
    assert min_solid_length(x, mask) == math.inf


def test_empty_and_full():
    for x in (np.zeros((8, 8)), np.ones((8, 8))):
        m = measure(x)
        assert m.min_solid_cells == math.inf and m.min_void_cells == math.inf
        assert m.grayness == 0


def test_violations_mark_the_thin_part():
    x = np.zeros((30, 30), bool)
    x[5:15, 5:15] = True
    x[9:11, 15:25] = True  # 2-wide arm off a 10x10 block
    v = violations(x, 3)
    assert v[9:11, 16:25].all()
    assert not v[6:14, 6:14].any()


def test_grayness():
    assert grayness(np.full((4, 4), 0.5)) == pytest.approx(1.0)
    rho = np.zeros((4, 4))
    rho[0] = 0.5
    mask = np.zeros((4, 4), bool)
    mask[0] = True
    assert grayness(rho, mask) == pytest.approx(1.0)
    assert grayness(rho) == pytest.approx(0.25)


def test_rejects_bad_shape():
    with pytest.raises(ValueError, match="2-dimensional"):
        measure(np.zeros(5))


def test_diagonal_contacts_found_at_checkerboard_corners():
    x = np.zeros((12, 12), bool)
    x[2:5, 2:5] = True
    x[5:8, 5:8] = True  # touches the first block at one corner only
    found = diagonal_contacts(x)
    assert found.tolist() == [[4, 4]]
    assert measure(x).diagonal_contacts == 1
    # The disk rule alone passes it: both blocks are 3x3 disks.
    assert min_solid_length(x) == 3
    x[5, 4] = True  # an edge contact: no checkerboard left
    assert len(diagonal_contacts(x)) == 0


def test_diagonal_contacts_ignore_windows_leaving_the_mask():
    x = np.zeros((6, 6), bool)
    x[0, 0] = x[1, 1] = True
    mask = np.ones((6, 6), bool)
    assert len(diagonal_contacts(x, mask)) == 1
    mask[0, 1] = False
    assert len(diagonal_contacts(x, mask)) == 0
