"""One training epoch in 1 process x 2 threads against 2 torchrun ranks x 1 thread, and beyond.

Runs ``designer optimize CONFIG --epochs 1`` twice on this machine, each in
fresh processes:

- plain: one process, OMP_NUM_THREADS = NUMBA_NUM_THREADS = 2;
- torchrun: ``--standalone --nproc-per-node 2``, one thread per rank (gloo).

It prints both epochs' times and their ratio, whether the two designs are
bit-identical, the communication the 2-rank run measured (payload bytes of
its collectives, from ``design.json`` ``runtime.distributed``), and the time
per epoch extrapolated to N ranks from the 2-rank run's own split of its
time: the gradient items (the impulse engine's are the robust variants, so
training stops scaling at 3 ranks), the evaluation batches (dealt round
robin) and the rest, which every rank repeats (the density pipeline, the
fabricated geometry, Adam, the length-scale measure). Communication at N
ranks is priced at ``--bandwidth`` and ``--latency`` per collective.

    python benchmarks/bench_distributed.py [--config examples/vowels_hillenbrand_channel.toml] [--data DIR]

On a shared machine the figures are noisy; run it with the cores idle.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RANKS = (1, 2, 3, 4, 5, 6, 10, 15, 30)
FOLDS = 5


def run(command: list[str], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def optimize_args(args, out: Path) -> list[str]:
    extra = ["--data", str(args.data)] if args.data else []
    return ["optimize", str(args.config), "--epochs", "1", "--out", str(out), "--quiet", *extra]


def epoch_seconds(out: Path) -> float:
    return json.loads((out / "design.json").read_text())["metrics"]["history"][0]["epoch_seconds"]


def same_design(a: Path, b: Path) -> bool:
    with np.load(a / "design.npz") as x, np.load(b / "design.npz") as y:
        return sorted(x.files) == sorted(y.files) and all(x[k].tobytes() == y[k].tobytes() for k in x.files)


def extrapolate(record: dict, epoch: float, ranks: int, bandwidth: float, latency: float) -> float:
    """Seconds per epoch on ``ranks`` ranks, from the measured rank 0 of a run on ``record['world_size']``."""
    w, steps, items = record["world_size"], record["steps"], record["items_per_step"]
    mine = items // w  # rank 0's share: the block [0, items // w)
    t_item = record["gradient_seconds"] / (steps * max(mine, 1))
    batches_done = max(record["evaluation_batches"], 1)
    t_batch = record["evaluation_seconds"] / batches_done
    batches = record["evaluation_batches_total"]
    rest = epoch - record["gradient_seconds"] - record["evaluation_seconds"] - record["communication_seconds"]
    slot = record["gradient_bytes"] / (steps * w * math.ceil(items / w)) if w > 1 else 0.0
    compute = steps * math.ceil(items / ranks) * t_item + math.ceil(batches / ranks) * t_batch
    if ranks == 1:
        return rest + compute
    gradient_bytes = steps * ranks * math.ceil(items / ranks) * slot
    evaluation_bytes = record["evaluation_bytes"] * (ranks - 1) / max(w - 1, 1)  # a ring all-reduce sends 2(n-1)/n
    collectives = steps * 3 + 4  # two gathers and a hash per step; one all-reduce per evaluation
    return rest + compute + (gradient_bytes + evaluation_bytes) / bandwidth + collectives * latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "vowels_hillenbrand_channel.toml")
    parser.add_argument("--data", type=Path, help="the recordings, if not where the config says")
    parser.add_argument("--bandwidth", type=float, default=1.25e9, help="bytes/s between machines (10 Gb/s)")
    parser.add_argument("--latency", type=float, default=50e-6, help="seconds per collective between machines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "one", Path(tmp) / "two"
        wall_one = run([sys.executable, "-m", "designer", *optimize_args(args, one)], threads=2)
        wall_two = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                        "-m", "designer", *optimize_args(args, two)], threads=1)
        e1, e2 = epoch_seconds(one), epoch_seconds(two)
        record = json.loads((two / "design.json").read_text())["runtime"]["distributed"]
        identical = same_design(one, two)
    print(f"config {args.config.name}, one epoch (training + evaluation), {os.cpu_count()} cores")
    print(f"1 process x 2 threads: {e1:.1f} s per epoch ({wall_one:.1f} s wall, start-up included)")
    print(f"2 ranks x 1 thread:    {e2:.1f} s per epoch ({wall_two:.1f} s wall)")
    print(f"ratio (1 x 2) / (2 x 1): {e1 / e2:.2f}; designs bit-identical: {'yes' if identical else 'NO'}")
    steps = record["steps"]
    print(f"communication, measured on rank 0: {record['gradient_bytes_per_step'] / 1024:.1f} KiB gathered per step "
          f"({record['items_per_step']} gradient items, {steps} steps), evaluation {record['evaluation_bytes'] / 1024:.1f} "
          f"KiB all-reduced, {record['communication_seconds']:.2f} s in collectives (waits for the other rank included)")
    print(f"rank 0's time: gradient items {record['gradient_seconds']:.1f} s, evaluation batches "
          f"{record['evaluation_seconds']:.1f} s ({record['evaluation_batches']} of {record['evaluation_batches_total']}), "
          f"the rest {e2 - record['gradient_seconds'] - record['evaluation_seconds'] - record['communication_seconds']:.1f} s")
    print(f"extrapolated seconds per epoch on N ranks of one core each (a machine like this one holds 2), "
          f"{args.bandwidth * 8 / 1e9:g} Gb/s, {args.latency * 1e6:g} us per collective; a {FOLDS}-fold protocol "
          f"runs min({FOLDS}, N) rank groups, the slowest with ceil({FOLDS} / groups) folds:")
    print(f"  {'N':>3s}  {'one split':>9s}  speed-up  {FOLDS}-fold protocol (all folds)  speed-up")
    single = [extrapolate(record, e2, n, args.bandwidth, args.latency) for n in RANKS]
    protocol = [math.ceil(FOLDS / min(FOLDS, n)) * extrapolate(record, e2, n // min(FOLDS, n), args.bandwidth,
                                                                 args.latency) for n in RANKS]
    for n, one_split, folds in zip(RANKS, single, protocol):
        print(f"  {n:3d}  {one_split:8.1f}s  {single[0] / one_split:7.2f}x  {folds:19.1f} s  {protocol[0] / folds:7.2f}x")


if __name__ == "__main__":
    main()
