"""Grid convergence of a fabricated part: accuracy and per-recording agreement at refine 1, 2, ...

Usage:
    python benchmarks/grid_convergence.py RUN/design.gds [--refine 1 2] [--json OUT]

Re-imports the exported file as ``designer verify`` does, simulates the
design's test set on grids ``K`` times finer (cells h / K; for a spectral
template also K times more frequencies), and prints, per K, the accuracy and
the share of recordings predicted as on the first grid. The issue's criterion:
the accuracy moves by at most 1 point and at least 90 % of the predictions
agree between ``--refine 1`` and ``--refine 2``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from designer.design import load_design
from designer.export import config_of
from designer.train import evaluate, make_problem
from designer.verify import _test_set, coverage, read_part


def predictions(gds: Path, refine: int) -> tuple[np.ndarray, float, float]:
    """(predicted class per test recording in index order, accuracy, seconds) on a grid ``refine`` x finer."""
    design = load_design(gds.parent)
    cfg = config_of(design)
    corpus, indices = _test_set(cfg, design, None)
    tick = time.perf_counter()
    problem = make_problem(cfg, refine=refine)
    rho = torch.as_tensor(coverage(read_part(gds, cfg), cfg, refine), dtype=problem.dtype)
    ev = evaluate(problem, corpus, indices, rho, None, cfg.training.batch_size)
    return ev.predicted[np.argsort(ev.indices)], ev.accuracy, time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gds", type=Path)
    parser.add_argument("--refine", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, first = [], None
    for k in args.refine:
        predicted, acc, seconds = predictions(args.gds, k)
        first = predicted if first is None else first
        rows.append({"refine": k, "accuracy": acc, "agreement_with_first": float(np.mean(predicted == first)),
                     "seconds": seconds})
        print(f"refine {k}: accuracy {100 * acc:.1f} %, agreement with refine {args.refine[0]} "
              f"{100 * rows[-1]['agreement_with_first']:.1f} % ({seconds:.0f} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
