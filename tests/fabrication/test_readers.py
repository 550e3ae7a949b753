import dataclasses

import gdstk
import pytest

from .fab_designs import ring_with_island
from fabrication import FabricationReadError, GdsLayers, export, polygons_from_binary, read


def one_line_error(fmt, path, layout, process, needle):
    with pytest.raises(FabricationReadError) as info:
        read(fmt, path, layout, process)
    message = str(info.value)
    assert "\n" not in message and path.name in message
    assert needle in message


@pytest.mark.parametrize("fmt", ["gds", "stl"])
def test_corrupt_file(tmp_path, fmt, soi_layout, soi_process):
    path = tmp_path / f"junk.{fmt}"
    path.write_bytes(b"\x00\x06\x00\x02garbage that is not a design" * 3)
    one_line_error(fmt, path, soi_layout, soi_process, "not a readable" if fmt == "gds" else "")


@pytest.mark.parametrize("fmt", ["gds", "stl"])
def test_empty_file(tmp_path, fmt, soi_layout, soi_process):
    path = tmp_path / f"empty.{fmt}"
    path.write_bytes(b"")
    one_line_error(fmt, path, soi_layout, soi_process, "")


def test_missing_file(tmp_path, soi_layout, soi_process):
    one_line_error("gds", tmp_path / "nope.gds", soi_layout, soi_process, "no such file")


def test_wrong_device_layer(tmp_path, soi_layout, soi_process):
    geom = polygons_from_binary(ring_with_island(), soi_layout, soi_process)
    moved = dataclasses.replace(soi_process, layers=GdsLayers(device=(2, 0)))
    path = export("gds", geom, soi_layout, moved, tmp_path / "moved.gds")
    one_line_error("gds", path, soi_layout, soi_process, "no polygons on device layer 1/0")


def test_gds_in_other_units(tmp_path, soi_layout, soi_process):
    lib = gdstk.Library(unit=1e-9, precision=1e-12)
    lib.new_cell("DESIGNER_DEVICE").add(gdstk.rectangle((0, 0), (100, 100)))
    path = tmp_path / "nm.gds"
    lib.write_gds(str(path))
    one_line_error("gds", path, soi_layout, soi_process, "user unit")


def test_mm_gds_read_as_um_layout(tmp_path, print_layout, print_process, soi_layout, soi_process):
    geom = polygons_from_binary(ring_with_island(), print_layout, print_process)
    path = export("gds", geom, print_layout, print_process, tmp_path / "part.gds")
    one_line_error("gds", path, soi_layout, soi_process, "design-region marker")


def test_stl_in_wrong_units(tmp_path, print_layout, print_process, soi_layout, soi_process):
    geom = polygons_from_binary(ring_with_island(), soi_layout, soi_process)
    path = export("stl", geom, soi_layout, soi_process, tmp_path / "chip.stl")
    one_line_error("stl", path, print_layout, print_process, "wrong units")


def test_unknown_format_lists_valid_ones(tmp_path, soi_layout, soi_process):
    with pytest.raises(ValueError, match="gds, stl"):
        read("oas", tmp_path / "x.oas", soi_layout, soi_process)
