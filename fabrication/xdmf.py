"""XDMF 3 mesh of the domain (see `triangulation`), data inline as XML.

meshio's XDMF writer and reader import h5py even for inline XML data, and
h5py is not a dependency here, so this module writes the few XML elements
itself. Inline data keeps the mesh in one file (written atomically); the
file opens in ParaView and meshio (where h5py is installed).
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET

import numpy as np
import shapely

from fabrication.spec import Layout, Process
from fabrication.triangulation import DomainMesh, triangulate_domain


def write_xdmf(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    tree = ET.ElementTree(xdmf_tree(triangulate_domain(polygons, layout)))
    ET.indent(tree)
    tree.write(str(path), encoding="utf-8", xml_declaration=True)


def xdmf_tree(mesh: DomainMesh) -> ET.Element:
    """Xdmf > Domain > Grid with XYZ geometry, triangle topology and a cell
    attribute "material"."""
    root = ET.Element("Xdmf", Version="3.0")
    grid = ET.SubElement(ET.SubElement(root, "Domain"), "Grid", Name="Grid")
    points = np.column_stack([mesh.points, np.zeros(len(mesh.points))])
    geometry = ET.SubElement(grid, "Geometry", GeometryType="XYZ")
    _data(geometry, points, "Float", "8", "%.17g")
    topology = ET.SubElement(
        grid, "Topology", TopologyType="Triangle", NumberOfElements=str(len(mesh.triangles)),
        NodesPerElement="3",
    )
    _data(topology, mesh.triangles.astype(np.int64), "Int", "8", "%d")
    attribute = ET.SubElement(grid, "Attribute", Name="material", AttributeType="Scalar", Center="Cell")
    _data(attribute, mesh.material.astype(np.int32), "Int", "4", "%d")
    return root


def _data(parent: ET.Element, values: np.ndarray, kind: str, precision: str, fmt: str) -> None:
    item = ET.SubElement(
        parent, "DataItem", DataType=kind, Precision=precision, Format="XML",
        Dimensions=" ".join(str(n) for n in values.shape),
    )
    text = io.StringIO()
    np.savetxt(text, values, fmt=fmt)
    item.text = "\n" + text.getvalue()
