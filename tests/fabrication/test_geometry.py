import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabrication import Layout, Process, polygons_from_binary, rasterize
from fabrication.stl import part_mesh

from .fab_designs import blobs, ring_with_island


def test_ring_stays_a_ring_and_island_survives(soi_layout, soi_process):
    geom = polygons_from_binary(ring_with_island(), soi_layout, soi_process)
    assert geom.is_valid
    parts = sorted(geom.geoms, key=lambda p: p.area)
    assert len(parts) == 2
    island, ring = parts
    assert len(ring.interiors) == 1 and len(island.interiors) == 0
    assert shapely.Polygon(ring.interiors[0]).contains(island)


def test_polygons_match_pixels_within_one_percent_of_region(soi_layout, soi_process):
    design = ring_with_island()
    geom = polygons_from_binary(design, soi_layout, soi_process)
    xor_cells = np.abs(rasterize(geom, soi_layout) - design).sum()
    x0, y0, x1, y1 = soi_layout.design_region
    assert xor_cells < 0.01 * (x1 - x0) * (y1 - y0)


def test_isolated_corners_are_sharp(soi_layout, soi_process):
    design = np.zeros(soi_layout.shape_cells, dtype=bool)
    design[10:20, 10:15] = True
    design[30:32, 20:22] = True  # a 2 x 2 island: chamfered, a foundry would measure it 1.58 cells wide
    geom = polygons_from_binary(design, soi_layout, soi_process)
    h = soi_layout.cell_size
    assert geom.area == pytest.approx(54 * h * h, rel=1e-9)
    assert shapely.box(10 * h, 10 * h, 20 * h, 15 * h).equals(geom.geoms[0]) or shapely.box(
        10 * h, 10 * h, 20 * h, 15 * h).equals(geom.geoms[1])


def test_staircase_corners_are_chamfered_into_a_straight_side(soi_layout, soi_process):
    design = np.zeros(soi_layout.shape_cells, dtype=bool)
    for k in range(12):  # a 45-degree line, each row three cells, shifted one cell per row
        design[12 + k : 15 + k, 10 + k] = True
    geom = polygons_from_binary(design, soi_layout, soi_process)
    h = soi_layout.cell_size
    # Inside the run every corner is cut (h^2/8 off each convex, on each
    # concave one): the sides are 45-degree lines 3 / sqrt(2) cells apart.
    middle = shapely.box(16 * h, 14 * h, 22 * h, 18 * h).intersection(geom)
    edges = np.diff(shapely.get_coordinates(middle.exterior), axis=0)
    diagonal = np.abs(np.abs(edges[:, 0]) - np.abs(edges[:, 1])) < 1e-9
    assert diagonal.sum() == 2 and np.hypot(*edges[diagonal].T).min() > 3 * h
    assert geom.area == pytest.approx(36 * h * h, rel=0.02)


def test_solid_on_domain_edge_reaches_the_edge(soi_layout, soi_process):
    design = np.zeros(soi_layout.shape_cells, dtype=bool)
    design[:, :3] = True
    geom = polygons_from_binary(design, soi_layout, soi_process)
    xmin, ymin, xmax, ymax = geom.bounds
    assert (xmin, ymin, ymax) == pytest.approx((0.0, 0.0, 3 * soi_layout.cell_size))
    assert xmax == pytest.approx(soi_layout.domain_box[2])
    # Cut square at the domain edge: an exact rectangle, no chamfered corners.
    assert geom.area == pytest.approx(3 * soi_layout.cell_size * xmax, rel=1e-9)


def test_fractional_density_thresholds_at_half(soi_layout, soi_process):
    design = ring_with_island().astype(float)
    soft = 0.1 + 0.8 * design
    a = polygons_from_binary(design, soi_layout, soi_process)
    b = polygons_from_binary(soft, soi_layout, soi_process)
    assert a.symmetric_difference(b).area < 1e-9


def test_sub_cell_edge_from_fractional_density(soi_layout, soi_process):
    density = np.zeros(soi_layout.shape_cells)
    density[:10, :] = 1.0
    density[10, :] = 0.75  # linear from 0.75 to 0 between centres: 0.5 is a third of the way
    geom = polygons_from_binary(density, soi_layout, soi_process)
    h = soi_layout.cell_size
    right = shapely.box(9 * h, 10 * h, 12 * h, 20 * h).intersection(geom)
    assert right.bounds[2] == pytest.approx((10.5 + 1 / 3) * h, abs=soi_process.grid)


def test_vertices_on_manufacturing_grid(soi_layout, soi_process):
    geom = polygons_from_binary(blobs(soi_layout.shape_cells, 3, 0), soi_layout, soi_process)
    coords = shapely.get_coordinates(geom) / soi_process.grid
    assert np.allclose(coords, np.round(coords), atol=1e-6)


def test_wrong_shape_names_both_shapes(soi_layout, soi_process):
    with pytest.raises(ValueError, match=r"\(48, 40\).*\(40, 48\)"):
        polygons_from_binary(np.zeros((40, 48)), soi_layout, soi_process)


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**31 - 1),
    sigma=st.floats(1.5, 4.0),
    fill=st.floats(-0.8, 0.8),
)
def test_blob_area_matches_pixels_and_part_is_watertight(seed, sigma, fill):
    layout = Layout(0.5, "mm", (40, 32), (4, 4, 36, 28))
    process = Process(1.2, 1.0, 0.01, slab_thickness=3.0, base_thickness=1.0)
    design = blobs(layout.shape_cells, sigma, seed, fill)
    geom = polygons_from_binary(design, layout, process)
    assert geom.is_valid
    h = layout.cell_size
    # Marching squares cuts or adds h^2/8 at each staircase corner, so the
    # difference is bounded by the number of pixel-boundary edges.
    boundary_edges = np.abs(np.diff(np.pad(design, 1).astype(int), axis=0)).sum() + np.abs(
        np.diff(np.pad(design, 1).astype(int), axis=1)
    ).sum()
    assert abs(geom.area - design.sum() * h * h) <= boundary_edges * h * h / 8 + 1e-9
    mesh = part_mesh(geom, layout, process)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
