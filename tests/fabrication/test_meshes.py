import sys
import types

import meshio
import numpy as np
import pytest

from .fab_designs import ring_with_island
from fabrication import export, polygons_from_binary
from fabrication.msh import material_from_msh


@pytest.fixture
def meshio_xdmf_without_h5py(monkeypatch):
    """meshio's XDMF reader imports h5py even for inline XML data, which it
    then never uses; an empty stand-in lets the real reader run without it."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "h5py", types.ModuleType("h5py"))


def triangle_areas(mesh):
    tri = mesh.cells_dict["triangle"]
    p = mesh.points[:, :2]
    u, v = p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]]
    return 0.5 * (u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])


@pytest.mark.parametrize("fmt", ["msh", "vtu", "xdmf"])
def test_round_trip_keeps_material_tags(tmp_path, fmt, print_layout, print_process, meshio_xdmf_without_h5py):
    geom = polygons_from_binary(ring_with_island(), print_layout, print_process)
    path = export(fmt, geom, print_layout, print_process, tmp_path / f"domain.{fmt}")
    mesh = meshio.read(path)
    if fmt == "msh":
        material = material_from_msh(mesh)
    else:
        material = np.asarray(mesh.get_cell_data("material", "triangle"))
    areas = triangle_areas(mesh)
    assert np.all(areas > 0)  # counter-clockwise, none degenerate
    x0, y0, x1, y1 = print_layout.domain_box
    assert areas.sum() == pytest.approx((x1 - x0) * (y1 - y0), rel=1e-9)
    assert set(np.unique(material)) == {0, 1}
    assert areas[material == 1].sum() == pytest.approx(geom.area, rel=1e-9)


def test_mesh_is_conforming(tmp_path, print_layout, print_process):
    """Every interior edge is shared by exactly two triangles, boundary edges by one."""
    geom = polygons_from_binary(ring_with_island(), print_layout, print_process)
    mesh = meshio.read(export("vtu", geom, print_layout, print_process, tmp_path / "d.vtu"))
    tri = mesh.cells_dict["triangle"]
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert set(counts) <= {1, 2}
    x0, y0, x1, y1 = print_layout.domain_box
    perimeter = 2 * ((x1 - x0) + (y1 - y0))
    _, idx, counts = np.unique(edges, axis=0, return_index=True, return_counts=True)
    once = edges[idx[counts == 1]]
    lengths = np.linalg.norm(mesh.points[once[:, 0], :2] - mesh.points[once[:, 1], :2], axis=1)
    assert lengths.sum() == pytest.approx(perimeter)
