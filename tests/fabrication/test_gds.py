import klayout.db as kdb
import pytest
import shapely

from .fab_designs import blobs, ring_with_island
from fabrication import Layout, export, polygons_from_binary, read


@pytest.fixture
def soi_geom(soi_layout, soi_process):
    return polygons_from_binary(ring_with_island(), soi_layout, soi_process)


def test_klayout_sees_layers_cell_and_units(tmp_path, soi_geom, soi_layout, soi_process):
    path = export("gds", soi_geom, soi_layout, soi_process, tmp_path / "device.gds")
    ly = kdb.Layout()
    ly.read(str(path))
    assert ly.dbu == pytest.approx(0.001)  # 1 nm in um
    top = ly.top_cell()
    assert top.name == "DESIGNER_DEVICE"
    layers = {(i.layer, i.datatype) for i in ly.layer_infos()}
    assert {(1, 0), (68, 0), (68, 1), (201, 0), (202, 0), (66, 0)} <= layers
    device = kdb.Region(top.begin_shapes_rec(ly.layer(1, 0)))
    assert device.area() * ly.dbu**2 == pytest.approx(soi_geom.area, rel=1e-6)
    texts = {t.string for t in kdb.Texts(top.begin_shapes_rec(ly.layer(66, 0)))}
    assert {"src_line", "src_pt", "out"} <= texts


def test_two_writes_are_byte_identical(tmp_path, soi_geom, soi_layout, soi_process):
    a = export("gds", soi_geom, soi_layout, soi_process, tmp_path / "a.gds")
    b = export("gds", soi_geom, soi_layout, soi_process, tmp_path / "b.gds")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("fixture", ["soi", "print"])
def test_round_trip_keeps_geometry_and_markers(tmp_path, request, fixture):
    layout = request.getfixturevalue(f"{fixture}_layout")
    process = request.getfixturevalue(f"{fixture}_process")
    geom = polygons_from_binary(blobs(layout.shape_cells, 2.5, 3), layout, process)
    path = export("gds", geom, layout, process, tmp_path / "device.gds")
    back = read("gds", path, layout, process)
    assert back.polygons.symmetric_difference(geom).area < 1e-6 * layout.design_area
    assert back.design_box == pytest.approx(layout.design_box)
    assert back.domain_box == pytest.approx(layout.domain_box)
    assert back.cell_name == "DESIGNER_DEVICE"
    assert any(text.startswith(f"designer unit={layout.unit}") for text, _, _ in back.labels)


def test_mm_layout_is_written_in_um(tmp_path, print_layout, print_process):
    geom = polygons_from_binary(ring_with_island(), print_layout, print_process)
    path = export("gds", geom, print_layout, print_process, tmp_path / "part.gds")
    ly = kdb.Layout()
    ly.read(str(path))
    box = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(68, 0))).bbox()
    x0, y0, x1, y1 = print_layout.design_box
    assert box.width() * ly.dbu == pytest.approx((x1 - x0) * 1000.0)


def test_fractured_large_polygon_reads_back_whole(tmp_path, soi_process):
    layout = Layout(0.05, "um", (400, 400), (0, 0, 400, 400))
    design = blobs(layout.shape_cells, 1.2, 5, fill=-0.6)  # one big polygon, many holes
    geom = polygons_from_binary(design, layout, soi_process)
    # Keyholing joins a polygon's holes into one boundary: over the limit.
    assert max(shapely.get_num_coordinates(p) for p in geom.geoms) > 4000
    path = export("gds", geom, layout, soi_process, tmp_path / "big.gds")
    back = read("gds", path, layout, soi_process)
    assert back.polygons.symmetric_difference(geom).area < 1e-6 * layout.design_area
    assert sum(len(p.interiors) for p in back.polygons.geoms) == sum(
        len(p.interiors) for p in geom.geoms
    )
