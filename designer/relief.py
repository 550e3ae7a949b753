"""A relief: walls of N heights in the channel, and why the 2D density model describes it.

The part. In a channel of height H between a base plate and a lid, a
relief of N levels (``[constraints] levels = N``) prints each wall as a
column k H / N tall, k = 1..N, standing on the base. It is written and read
as N stacked layers of the channel (:mod:`fabrication.stl`), layer j
holding the walls taller than j H / N; the layers nest. On the training
grid a cell of value k / N is such a wall; the fabricated map of a relief
is the mean of its layers' area coverages.

The physics: the gap-averaged plane mode. Over a cell whose wall is x H
tall the fluid fills a gap g = (1 - x) H between the wall's top and the lid.
Integrating the linear mass and momentum balances of the fluid, (1 / rho0
c0^2) p_t + div u = 0 and rho0 u_t + grad p = 0, across the gap, with no
flux through the rigid wall top and lid, gives for the gap-averaged
pressure and flux (Webster's horn equation in two dimensions)

    (g / (rho0 c0^2)) p_t = -div(g u),    rho0 u_t = -grad p,

so p_tt = (c0^2 / g) div(g grad p): a medium of the fluid's speed whose
admittance scales with the gap. The density model
(:mod:`designer.physics.models.density`) interpolates 1/rho and 1/kappa
linearly in x; for a solid of density and bulk modulus far above the
fluid's (the acoustic-channel template simulates PLA at 8026 kg/m3 and air's
speed: both ratios 1.5e-4) its maps are q = rho0 / rho(x) = 1 - x and
kappa0 / kappa(x) = 1 - x up to those ratios, which is the equation above
with g / H = 1 - x. A grey cell is therefore a partial wall, to leading
order in k H and in the gap's slope.

What the reduction drops: the higher-order modes of the gap, excited at
every step of height and evanescent below the first cut-off c0 / (2 g); at
40 kHz in a 3.2 mm channel they decay over about 1.5 mm, two cells. Near a
step the field is not uniform across the gap, and a one-cell terrace is
mostly such a near field. ``designer verify --3d`` simulates the relief's
voxels, every layer of the channel resolved, and tells how much that
changes the classification; ``tests/acoustic/test_relief.py`` checks the
reduction against the 3D solution for a step in height.
"""
from __future__ import annotations

import numpy as np
import shapely

import fabrication as fab

from constraints.pipeline import relief_layers

from .config import Config

__all__ = ["levels", "layers", "layer_polygons", "layer_coverage", "relief_drc", "design_map", "stored_arrays"]


def levels(cfg: Config) -> int:
    """The config's wall heights N (1: walls of one height)."""
    return cfg.constraints.levels


def layers(design_map: np.ndarray, cfg: Config) -> np.ndarray:
    """The binary layers (N, nx, ny) of a design map (values k / N), bottom first; (1, nx, ny) for N = 1."""
    return relief_layers(np.asarray(design_map, dtype=float), levels(cfg))


def layer_polygons(design_map: np.ndarray, cfg: Config):
    """The exported footprint: one MultiPolygon, or for a relief the N layers' footprints, bottom first."""
    from .export import fab_layout, fab_process

    layout, process = fab_layout(cfg), fab_process(cfg)
    shapes = tuple(fab.polygons_from_binary(layer.astype(float), layout, process)
                   for layer in layers(design_map, cfg))
    return shapes[0] if levels(cfg) == 1 else shapes


def layer_coverage(polygons, cfg: Config, refine: int = 1, bias: float = 0.0) -> np.ndarray:
    """Area coverage (K nx, K ny) of a footprint, or the mean of a relief's layers' coverages.

    ``bias`` moves every layer's edges outward (template unit), as a printer's
    over- or under-extrusion would.
    """
    from .export import fab_layout

    layout = fab_layout(cfg)
    shapes = [polygons] if isinstance(polygons, shapely.Geometry) else list(polygons)
    covers = [fab.rasterize(fab.bias(s, bias) if bias else s, layout, refine=refine) for s in shapes]
    return np.mean(covers, axis=0)


def relief_drc(polygons, cfg: Config) -> list:
    """Design-rule violations of every layer of the footprint (a layer's walls and gaps keep the rule)."""
    from .export import fab_layout, fab_process

    layout, process = fab_layout(cfg), fab_process(cfg)
    shapes = [polygons] if isinstance(polygons, shapely.Geometry) else list(polygons)
    return [v for s in shapes for v in fab.drc(s, layout, process)]


def stored_arrays(design_map: np.ndarray, cfg: Config) -> dict[str, np.ndarray]:
    """What ``design.npz`` keeps of the design to fabricate.

    ``binary``: the walls' footprint (a relief's bottom layer), 0 / 1.
    ``heights`` (a relief only): each cell's wall height in steps of H / N, 0..N.
    """
    steps = np.rint(np.asarray(design_map, dtype=float) * levels(cfg)).astype(np.uint8)
    out = {"binary": (steps >= 1).astype(np.uint8)}
    if levels(cfg) > 1:
        out["heights"] = steps
    return out


def design_map(design, cfg: Config) -> np.ndarray:
    """A stored design's map to fabricate: 0 / 1, or a relief's heights / N."""
    if levels(cfg) > 1:
        return np.asarray(design.arrays["heights"], dtype=float) / levels(cfg)
    return np.asarray(design.binary, dtype=float)
