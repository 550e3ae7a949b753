import numpy as np
import pytest
import shapely
import trimesh

from .fab_designs import blobs, ring_with_island
from fabrication import FabricationExportError, Layout, Process, export, polygons_from_binary, read


def expected_volume(geom, layout, process):
    """Slab over device and frame ring, base plate under region and frame (exact, from 2D)."""
    region = shapely.box(*layout.design_box)
    outer = region.buffer(process.frame_width, join_style="mitre") if process.frame_width else region
    slab = shapely.union(geom, outer.difference(region)).area * process.slab_thickness
    return slab + outer.area * process.base_thickness


def in_region(design, layout):
    x0, y0, x1, y1 = layout.design_region
    out = np.zeros_like(design)
    out[x0:x1, y0:y1] = design[x0:x1, y0:y1]
    return out


def test_part_is_watertight_with_right_volume(tmp_path, print_layout, print_process):
    design = in_region(blobs(print_layout.shape_cells, 2.5, 1), print_layout)
    geom = polygons_from_binary(design, print_layout, print_process)
    path = export("stl", geom, print_layout, print_process, tmp_path / "part.stl")
    mesh = trimesh.load(path, file_type="stl")
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(expected_volume(geom, print_layout, print_process), rel=5e-3)
    assert len(mesh.split(only_watertight=False)) == 1


def test_mid_height_section_matches_polygons(tmp_path, print_layout, print_process):
    geom = polygons_from_binary(ring_with_island(), print_layout, print_process)
    path = export("stl", geom, print_layout, print_process, tmp_path / "part.stl")
    back = read("stl", path, print_layout, print_process)
    assert back.polygons.symmetric_difference(geom).area < 0.01 * print_layout.design_area
    assert sorted(len(p.interiors) for p in back.polygons.geoms) == [0, 1]


def test_um_layout_is_written_in_mm(tmp_path, soi_layout, soi_process):
    geom = polygons_from_binary(ring_with_island(), soi_layout, soi_process)
    path = export("stl", geom, soi_layout, soi_process, tmp_path / "chip.stl")
    mesh = trimesh.load(path, file_type="stl")
    assert mesh.bounds[1, 2] == pytest.approx(0.22e-3)
    assert mesh.volume == pytest.approx(geom.area * 0.22 * 1e-9, rel=5e-3)
    back = read("stl", path, soi_layout, soi_process)
    assert back.polygons.symmetric_difference(geom).area < 0.01 * soi_layout.design_area


def test_floating_islands_fail_single_body(tmp_path):
    layout = Layout(0.5, "mm", (40, 40), (10, 10, 30, 30))
    process = Process(1.2, 1.0, 0.01, slab_thickness=3.0, base_thickness=0.0, single_body=True)
    design = np.zeros(layout.shape_cells, dtype=bool)
    design[12:16, 12:16] = design[22:28, 22:28] = True
    geom = polygons_from_binary(design, layout, process)
    target = tmp_path / "part.stl"
    with pytest.raises(FabricationExportError, match="2 separate bodies"):
        export("stl", geom, layout, process, target)
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file left


def test_islands_on_a_base_plate_are_one_body(tmp_path):
    layout = Layout(0.5, "mm", (40, 40), (10, 10, 30, 30))
    process = Process(1.2, 1.0, 0.01, slab_thickness=3.0, base_thickness=0.5, single_body=True)
    design = np.zeros(layout.shape_cells, dtype=bool)
    design[12:16, 12:16] = design[22:28, 22:28] = True
    geom = polygons_from_binary(design, layout, process)
    mesh = trimesh.load(export("stl", geom, layout, process, tmp_path / "p.stl"), file_type="stl")
    assert len(mesh.split()) == 1
    assert mesh.volume == pytest.approx(expected_volume(geom, layout, process), rel=5e-3)
