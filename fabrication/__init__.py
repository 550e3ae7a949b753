"""Fabrication output for `designer`: polygons from densities, design-rule
checks, and writers and readers for GDSII, STL, meshes and previews.

Never imports `designer`; the core passes in the frozen specs defined here.
"""

from fabrication.drc import Violation, drc
from fabrication.errors import FabricationExportError, FabricationReadError
from fabrication.export import EXPORTERS, RELIEF_FORMATS, export
from fabrication.geometry import polygons_from_binary
from fabrication.raster import bias, rasterize
from fabrication.readers import READERS, read
from fabrication.spec import GdsLayers, Layout, ProbeMarker, Process, ReadResult, SourceMarker

__all__ = [
    "EXPORTERS",
    "RELIEF_FORMATS",
    "READERS",
    "FabricationExportError",
    "FabricationReadError",
    "GdsLayers",
    "Layout",
    "ProbeMarker",
    "Process",
    "ReadResult",
    "SourceMarker",
    "Violation",
    "bias",
    "drc",
    "export",
    "polygons_from_binary",
    "rasterize",
    "read",
]
