import numpy as np
import pytest
import shapely

from .fab_designs import ring_with_island
from fabrication import drc, polygons_from_binary


def kinds(violations):
    return sorted({v.kind for v in violations})


def test_clean_design_passes(soi_layout, soi_process):
    geom = polygons_from_binary(ring_with_island(), soi_layout, soi_process)
    assert drc(geom, soi_layout, soi_process) == ()


def test_thin_line_reported_at_its_location(soi_layout, soi_process):
    design = ring_with_island()
    design[20:21, 34:35] = True  # a lone 1-cell dot: 50 nm against a 100 nm rule
    design[8:10, 33:36] = True
    design[9, 22:33] = True  # a 1-cell wide line between x = 0.45 and 0.5 um
    geom = polygons_from_binary(design, soi_layout, soi_process)
    found = [v for v in drc(geom, soi_layout, soi_process) if v.kind == "min_width"]
    h = soi_layout.cell_size
    line = [v for v in found if 22 * h < v.y < 33 * h]
    assert line  # one violation per pair of facing edges closer than the rule
    assert all(v.x == pytest.approx(9.5 * h, abs=0.5 * h) for v in line)
    assert min(v.size for v in line) == pytest.approx(h)
    assert any(v.x == pytest.approx(20.5 * h, abs=h) and v.y == pytest.approx(34.5 * h, abs=h) for v in found)


def test_narrow_gap_reported(soi_layout, soi_process):
    design = ring_with_island()
    design[16:31, 12:28] = True  # fill the hole but for column 31: a 1-cell slot by the wall
    geom = polygons_from_binary(design, soi_layout, soi_process)
    found = [v for v in drc(geom, soi_layout, soi_process) if v.kind == "min_spacing"]
    assert found
    h = soi_layout.cell_size
    assert all(v.x == pytest.approx(31.5 * h, abs=h) for v in found)
    assert min(v.size for v in found) < soi_process.min_void


def test_feature_cut_by_region_boundary_is_not_a_violation(soi_layout, soi_process):
    design = np.zeros(soi_layout.shape_cells, dtype=bool)
    x0, y0, x1, y1 = soi_layout.design_region
    design[x0 - 6 : x0 + 1, 10:20] = True  # wide block, only one cell of it inside the region
    design[20:30, y1 - 1 : y1 + 6] = True
    geom = polygons_from_binary(design, soi_layout, soi_process)
    assert drc(geom, soi_layout, soi_process) == ()


def test_acute_spike_reported(soi_layout, soi_process):
    h = soi_layout.cell_size
    wedge = shapely.Polygon([(12 * h, 10 * h), (30 * h, 12 * h), (12 * h, 14 * h)])  # ~12.7 degree tip
    found = drc(shapely.MultiPolygon([wedge]), soi_layout, soi_process)
    spikes = [v for v in found if v.kind == "acute_angle"]
    assert len(spikes) == 1
    assert (spikes[0].x, spikes[0].y) == pytest.approx((30 * h, 12 * h))
