import numpy as np
import pytest
import shapely
import trimesh

from .fab_designs import PROBES, SOURCES, blobs, ring_with_island
from fabrication import FabricationExportError, Layout, Process, export, polygons_from_binary, read
from fabrication.stl import load_part, port_shapes, section


def expected_volume(geom, layout, process):
    """Slab over the device polygons, base plate under the region (exact, from 2D)."""
    region = shapely.box(*layout.design_box)
    return geom.area * process.slab_thickness + region.area * process.base_thickness


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


def _channel():
    layout = Layout(0.8, "mm", (48, 40), (10, 8, 38, 32), SOURCES, PROBES)
    process = Process(1.6, 1.6, 0.01, slab_thickness=3.2, base_thickness=2.4, base_under="domain",
                      single_body=True, lid_thickness=2.4, ports=True)
    design = np.zeros(layout.shape_cells, dtype=bool)
    design[:3], design[-3:], design[:, :3], design[:, -3:] = True, True, True, True  # frame around the domain
    design[20:24, 12:28] = True  # a wall
    return layout, process, design


def test_channel_part_is_base_walls_and_a_lid_with_ports(tmp_path):
    layout, process, design = _channel()
    geom = polygons_from_binary(design, layout, process)
    path = export("stl", geom, layout, process, tmp_path / "part.stl")
    mesh = trimesh.load(path, file_type="stl")
    bodies = mesh.split()
    assert len(bodies) == 2 and all(b.is_watertight and b.is_winding_consistent for b in bodies)
    domain = shapely.box(*layout.domain_box)
    ports = shapely.union_all(port_shapes(layout))
    lid = (domain.area - ports.area) * process.lid_thickness
    body = domain.area * process.base_thickness + geom.area * process.slab_thickness
    assert sorted(b.volume for b in bodies) == pytest.approx(sorted([lid, body]), rel=5e-3)
    assert mesh.bounds[1, 2] == pytest.approx(process.height + process.grid)


def test_channel_sections_keep_every_printed_body(tmp_path):
    """Nothing printed is dropped: walls and frame at mid-channel, plates with port holes above and below."""
    layout, process, design = _channel()
    geom = polygons_from_binary(design, layout, process)
    path = export("stl", geom, layout, process, tmp_path / "part.stl")
    back = read("stl", path, layout, process)
    assert back.polygons.symmetric_difference(geom).area < 1e-6 * layout.design_area
    mesh = load_part(path, layout, process)
    domain = shapely.box(*layout.domain_box)
    base = section(mesh, 1.2, layout, process)
    assert base.symmetric_difference(domain).area < 1e-3 * domain.area  # the base is half a grid step wider
    lid = section(mesh, process.height - 1.2, layout, process)
    holes = domain.difference(lid)
    assert holes.area == pytest.approx(shapely.union_all(port_shapes(layout)).area, rel=1e-3)
    for probe in layout.probes:
        centre = shapely.Point([(c + 0.5) * layout.cell_size for c in probe.centre_cells])
        assert holes.contains(centre) and not lid.contains(centre)
