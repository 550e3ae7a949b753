"""What would a relief of N wall heights reach? Train with an N-level staircase projection, then check it in 3D.

    python benchmarks/staircase_optimize.py N CONFIG --out RUN [designer optimize options]
    python benchmarks/relief_3d.py RUN --levels N,... --3d

A diagnostic, not a product path: the `acoustic-channel` template prints
two materials, and no writer exports a relief yet. This runs `designer
optimize` with the projection of the constraint pipeline
(:func:`constraints.projection.tanh_projection`) replaced by
:func:`constraints.projection.staircase_projection` with ``N`` levels, so
that the β continuation drives the smooth density towards {0, 1/N, ..., 1}
instead of {0, 1}: the density model reads a cell of value x as a wall x H
tall in the channel of height H (the gap-averaged plane mode; see
``benchmarks/relief_3d.py``). The filter, the robust variants (thresholds
shifted within each step) and everything else run as configured.

What the run prints as "binary" and "as fabricated" is the two-material
design the exporter draws from the same field, not the relief; read the
relief's figures from its smooth ("test") column at the final β, or from
``relief_3d.py``, which quantises the smooth field to N levels and
simulates the relief in 3D. The config must set
``[constraints] fabricated_epochs = 0``: fabricated epochs would train
through the two-material geometry.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import constraints.pipeline as pipeline  # noqa: E402
from constraints.projection import staircase_projection  # noqa: E402
from designer.config import load_config  # noqa: E402


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[0].isdigit() or int(argv[0]) < 1:
        sys.exit("usage: staircase_optimize.py N CONFIG [designer optimize options]; N: height levels, 1 or more")
    levels, config = int(argv[0]), argv[1]
    if load_config(config).constraints.fabricated_epochs:
        sys.exit(f"{config}: constraints.fabricated_epochs: expected 0 (fabricated epochs train through the "
                 f"two-material geometry, not the relief)")
    pipeline.tanh_projection = lambda x, beta, eta: staircase_projection(x, beta, eta, levels)
    from designer.cli import main as designer

    sys.argv = ["designer", "optimize", *argv[1:]]
    designer()


if __name__ == "__main__":
    main(sys.argv[1:])
