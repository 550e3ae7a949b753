"""Time every fabrication export of a 1000 x 1000-cell design.

Run: python benchmarks/bench_export.py [--n 1000] [--out DIR]
The design is smoothed random noise, thresholded and cleaned with a 3-cell
opening and closing so features and gaps are at least about 2 cells; it
fills the design region (the domain minus a 50-cell margin) and sits on the
acoustic template's base plate, so the STL is one body.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_closing, binary_opening, gaussian_filter
from skimage.morphology import disk

from fabrication import EXPORTERS, Layout, Process, drc, export, polygons_from_binary, rasterize, read


def blob_design(n: int, margin: int, seed: int = 0) -> np.ndarray:
    smooth = gaussian_filter(np.random.default_rng(seed).standard_normal((n, n)), 4.0)
    solid = binary_closing(binary_opening(smooth > 0, disk(1)), disk(1))
    design = np.zeros((n, n), dtype=bool)
    design[margin:-margin, margin:-margin] = solid[margin:-margin, margin:-margin]
    return design


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<22s} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    n, margin = args.n, 50
    layout = Layout(0.5, "mm", (n, n), (margin, margin, n - margin, n - margin))
    process = Process(1.2, 1.0, 0.01, slab_thickness=3.0, base_thickness=1.0, frame_width=1.0, single_body=True)
    design = blob_design(n, margin)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_export_"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{n} x {n} cells, {design.mean():.0%} solid, files in {out}")
    geom = timed("polygons_from_binary", lambda: polygons_from_binary(design, layout, process))
    print(f"{'':<22s} {len(geom.geoms)} polygons, {sum(len(p.interiors) for p in geom.geoms)} holes")
    timed("rasterize", lambda: rasterize(geom, layout))
    timed("drc", lambda: drc(geom, layout, process))
    for fmt in EXPORTERS:
        path = timed(f"export {fmt}", lambda: export(fmt, geom, layout, process, out / f"design.{fmt}", density=design))
        print(f"{'':<22s} {path.stat().st_size / 1e6:.1f} MB")
    for fmt in ("gds", "stl"):
        timed(f"read {fmt}", lambda: read(fmt, out / f"design.{fmt}", layout, process))


if __name__ == "__main__":
    main()
