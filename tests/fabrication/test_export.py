import numpy as np
import pytest

from .fab_designs import ring_with_island
from fabrication import EXPORTERS, export, polygons_from_binary


def test_unknown_format_lists_valid_ones(tmp_path, soi_layout, soi_process):
    with pytest.raises(ValueError, match="gds, msh, png, stl, svg, vtu, xdmf"):
        export("dxf", polygons_from_binary(ring_with_island(), soi_layout, soi_process),
               soi_layout, soi_process, tmp_path / "x.dxf")


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_every_format_writes_one_complete_file(tmp_path, fmt, print_layout, print_process):
    design = ring_with_island()
    geom = polygons_from_binary(design, print_layout, print_process)
    path = export(fmt, geom, print_layout, print_process, tmp_path / f"out.{fmt}", density=design)
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{fmt}"]
    assert path.stat().st_size > 0


def test_failed_write_keeps_the_old_file(tmp_path, print_layout, print_process):
    geom = polygons_from_binary(ring_with_island(), print_layout, print_process)
    target = export("stl", geom, print_layout, print_process, tmp_path / "part.stl")
    before = target.read_bytes()
    split = np.zeros(print_layout.shape_cells, dtype=bool)
    split[0:3, 0:3] = True  # outside the frame and base: a second body
    with pytest.raises(ValueError):
        export("stl", polygons_from_binary(split | ring_with_island(), print_layout, print_process),
               print_layout, print_process, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["part.stl"]


def test_svg_is_reproducible(tmp_path, soi_layout, soi_process):
    design = ring_with_island()
    geom = polygons_from_binary(design, soi_layout, soi_process)
    a = export("svg", geom, soi_layout, soi_process, tmp_path / "a.svg", density=design)
    b = export("svg", geom, soi_layout, soi_process, tmp_path / "b.svg", density=design)
    assert a.read_bytes() == b.read_bytes()
    assert b"<svg" in a.read_bytes()
