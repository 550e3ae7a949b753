"""Would a grey design print as a relief? Walls of height x H in 3D against the 2D density x.

    python benchmarks/relief_3d.py RUN [--levels 4,8,16] [--3d [--refine K]]

The density model interpolates 1/rho and 1/kappa linearly in the design x
(:mod:`designer.physics.models.density`). In the acoustic channel the solid is
simulated at the fluid's speed, so both maps are q(x) ~ 1 - x and the 2D
equation reads q p_tt = c^2 div(q grad p). That is the gap-averaged plane
mode of a channel whose local gap is h = (1 - x) H: integrating the linear
mass and momentum balances over the gap (rigid wall tops, no flux through
them) gives (h / c^2) p_tt = div(h grad p). So a grey cell is, to leading
order in the gap's slope and in k H, a wall printed x H tall, and a grey
design could be printed as a relief of terraces. The approximation drops the
evanescent higher-order modes at each step of height, whose decay length at
40 kHz in a 3.2 mm channel is 1.5 mm, about two cells.

A diagnostic of a grey run: a run trained for a relief (``[constraints]
levels``) exports its STL, and ``designer verify design.stl --3d`` checks
that part (:mod:`designer.relief`). For a run (a fold's folder) this quantises the run's smooth density to each
number of height levels and prints the 2D test and training accuracy; with
``--3d`` it builds the first level count's relief in 3D (the template's z
stack at the training grid: one channel layer per level, so the first level
count must equal the channel's cells across its height) with the walls
standing on the base plate, and prints the 3D test accuracy, the share of
test predictions that 3D and 2D share, and the spread of the probe powers'
log ratio. ``--refine K`` simulates the 3D relief on a grid K times finer in
every direction (K times more steps per sample), the heights then K cells
apart: it tells the 2D model's error at the steps of height from the coarse
3D grid's own. The run's stored smooth density is used as it stands: a design
trained with `[constraints] method = "none"` has one-cell features, the
worst case for the step corrections.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.data import load_corpus  # noqa: E402
from designer.design import load_design  # noqa: E402
from designer.drive import drive_for  # noqa: E402
from designer.export import config_of  # noqa: E402
from designer.part3d import layout_3d, z_stack  # noqa: E402
from designer.train import Problem, evaluate, make_problem  # noqa: E402


def relief_volume(levels_map: torch.Tensor, names: list[str], n: int) -> torch.Tensor:
    """(nx, ny, nz) material: solid plates, and in channel layer j (from the base) the cells with x > j / n."""
    out = levels_map.new_zeros(levels_map.shape + (len(names),))
    channel = [k for k, name in enumerate(names) if name == "channel"]
    for k, name in enumerate(names):
        if name in ("base", "lid"):
            out[:, :, k] = 1.0
    for j, k in enumerate(channel):
        out[:, :, k] = (levels_map * n - j).clamp(0.0, 1.0)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--levels", default="4,8,16", help="height level counts, comma-separated")
    ap.add_argument("--3d", dest="three_d", action="store_true", help="simulate the first level count in 3D")
    ap.add_argument("--refine", type=int, default=1, help="the 3D grid this many times finer (default 1)")
    a = ap.parse_args(argv)
    levels = [int(v) for v in a.levels.split(",")]
    design = load_design(a.run)
    cfg = config_of(design)
    corpus = load_corpus(cfg.data)
    test, train = (np.asarray(design.arrays[k]) for k in ("test_indices", "train_indices"))
    problem = make_problem(cfg, engine="impulse")
    rho = torch.as_tensor(np.asarray(design.arrays["rho"]), dtype=problem.dtype)
    mask = torch.as_tensor(np.asarray(design.arrays["design_mask"]))

    def quantised(n: int) -> torch.Tensor:
        return torch.where(mask, torch.round(rho * n) / n, rho)

    def accuracy(r, idx, p=problem):
        return evaluate(p, corpus, idx, r, None, cfg.training.batch_size)

    print(f"{a.run}: smooth density, test {accuracy(rho, test).accuracy:.1%}", flush=True)
    for n in levels:
        r = quantised(n)
        print(f"  {n:3d} height levels (2D): test {accuracy(r, test).accuracy:.1%}, "
              f"train {accuracy(r, train).accuracy:.1%}", flush=True)
    if not a.three_d:
        return
    n, k = levels[0], a.refine
    stack = z_stack(cfg, k)
    names = stack.names()
    if stack.channel != n * k:
        sys.exit(f"--3d: the channel is {stack.channel // k} cells tall; give that as the first --levels")
    r = quantised(n)
    fine = r.repeat_interleave(k, 0).repeat_interleave(k, 1)
    layout = layout_3d(cfg, stack, k).to(problem.device, problem.dtype)
    p3 = Problem(cfg, layout, None, problem.engine, problem.device, problem.dtype, drive_for(cfg, k))
    start = time.perf_counter()
    e3 = accuracy(relief_volume(fine, names, n * k), test, p3)
    e2 = accuracy(r, test)
    same = float(np.mean(e3.predicted == e2.predicted))
    dlog = np.abs(e3.log_probs - e2.log_probs)
    print(f"  {n} height levels in 3D (walls x H tall, grid refined x{k}): test {e3.accuracy:.1%} against {e2.accuracy:.1%} in 2D; "
          f"{same:.1%} of the predictions the same; |d log p| median {np.median(dlog):.3f}; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
