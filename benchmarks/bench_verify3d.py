"""Time `designer verify PART.stl --3d`: the printed part in 3D against its 2D map, on the design's test set.

    python benchmarks/bench_verify3d.py RUN/design.stl [--run RUN] [--engine auto|fused|impulse] [--refine K]

Prints, in one run: the 2D and 3D accuracies, their per-sample agreement, the
3D domain, the wall time of each and the 3D engine's throughput in cell-steps
per second (cells x steps simulated, per second of the 3D simulation).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.verify import verify  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stl", type=Path)
    parser.add_argument("--run", type=Path, default=None, help="the run folder (default: the file's folder)")
    parser.add_argument("--engine", default=None)
    parser.add_argument("--refine", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    flat = verify(args.stl, run=args.run, refine=args.refine, engine=args.engine)
    seconds_2d = time.perf_counter() - start
    start = time.perf_counter()
    result = verify(args.stl, run=args.run, refine=args.refine, engine=args.engine, three_d=True)
    total_3d = time.perf_counter() - start
    d = result.three_d
    nx, ny, nz = d["shape_cells"]
    steps = d["steps"]
    print(f"part           {args.stl} (refine {args.refine}, {result.test_samples} test samples)")
    print(f"2D verify      {100 * flat.accuracy:.1f} %   {seconds_2d:.1f} s")
    print(f"3D verify      {100 * d['accuracy']:.1f} %   {d['seconds']:.1f} s simulating ({total_3d:.1f} s with "
          f"voxelising and the 2D pass)")
    print(f"agreement      {100 * d['agreement_with_2d']:.1f} % of the samples predicted alike; drop from 2D "
          f"{d['drop_from_2d_points']:+.1f} points")
    print(f"3D domain      {nx} x {ny} x {nz} cells = {nx * ny * nz:,} cells; {steps:,} steps simulated")
    print(f"3D throughput  {nx * ny * nz * steps / d['seconds']:.3g} cell-steps/s")


if __name__ == "__main__":
    main()
