"""KLayout's own width and space checks on a GDS file, for the tests (needs the `klayout` package)."""
from __future__ import annotations

from pathlib import Path

import klayout.db as kdb

METRICS = {"euclidean": kdb.Region.Euclidian, "projection": kdb.Region.Projection}


def klayout_checks(path: Path, min_solid_um: float, min_void_um: float, layer=(1, 0),
                   metric: str = "euclidean") -> dict[str, list[tuple[float, tuple[float, float]]]]:
    """``Region.width_check`` / ``space_check`` of ``layer`` at the rules, KLayout's defaults otherwise.

    Returns, per check, one (distance_um, (x_um, y_um)) per edge pair, the
    position being the mean of the pair's four ends. The distance is None
    where KLayout rounded a near part to a single point (its distance() then
    reads 0 whatever the gap).
    """
    ly = kdb.Layout()
    ly.read(str(path))
    region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*layer)))
    out = {}
    for check, rule in (("width", min_solid_um), ("space", min_void_um)):
        run = region.width_check if check == "width" else region.space_check
        pairs = run(round(rule / ly.dbu), False, METRICS[metric])
        out[check] = [(None if p.first.is_degenerate() or p.second.is_degenerate() else p.distance() * ly.dbu,
                       _centre(p, ly.dbu)) for p in pairs.each()]
    return out


def _centre(pair, dbu: float) -> tuple[float, float]:
    pts = [pair.first.p1, pair.first.p2, pair.second.p1, pair.second.p2]
    return (sum(p.x for p in pts) * dbu / 4, sum(p.y for p in pts) * dbu / 4)
