import numpy as np
import pytest
import shapely

from fabrication import Layout, bias, rasterize


@pytest.fixture
def unit_grid() -> Layout:
    return Layout(1.0, "um", (6, 5), (0, 0, 6, 5))


def test_rectangle_at_half_cell_offsets_is_exact(unit_grid):
    cover = rasterize(shapely.box(0.5, 1.5, 3.5, 2.25), unit_grid)
    expected = np.zeros((6, 5))
    expected[0, 1], expected[1:3, 1], expected[3, 1] = 0.25, 0.5, 0.25
    expected[0, 2], expected[1:3, 2], expected[3, 2] = 0.125, 0.25, 0.125
    np.testing.assert_allclose(cover, expected, atol=1e-12)


def test_annulus_area_preserved_at_every_refinement(unit_grid):
    centre = shapely.Point(2.7, 2.3)
    ring = centre.buffer(1.7).difference(centre.buffer(0.6))
    for k in (1, 2, 5):
        cover = rasterize(ring, unit_grid, refine=k)
        assert cover.shape == (6 * k, 5 * k)
        assert cover.sum() / k**2 == pytest.approx(ring.area, rel=1e-12)
        assert cover.min() >= 0.0 and cover.max() <= 1.0


def test_hole_cells_are_empty_and_solid_cells_full(unit_grid):
    frame = shapely.box(0, 0, 5, 5).difference(shapely.box(1, 1, 4, 4))
    cover = rasterize(frame, unit_grid)
    assert np.all(cover[1:4, 1:4] == 0.0)
    assert np.all(cover[0, :] == 1.0) and np.all(cover[5, :] == 0.0)


def test_outside_the_domain_is_ignored(unit_grid):
    cover = rasterize(shapely.box(-2, -2, 1.5, 1.0), unit_grid)
    assert cover.sum() == pytest.approx(1.5)


def test_bias_moves_edges_keeping_corners_sharp():
    square = shapely.box(0, 0, 2, 2)
    grown = bias(square, 0.25)
    assert grown.area == pytest.approx(2.5**2)
    assert grown.bounds == pytest.approx((-0.25, -0.25, 2.25, 2.25))
    assert bias(square, -0.25).area == pytest.approx(1.5**2)
    assert bias(square, -1.5).is_empty


def test_bad_refine_is_rejected(unit_grid):
    with pytest.raises(ValueError, match="refine"):
        rasterize(shapely.box(0, 0, 1, 1), unit_grid, refine=0)
