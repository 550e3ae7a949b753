"""Fused 3D vs reference 3D engine: forward throughput and peak memory, side by side.

Two cases per grid, float32, forward only (no_grad), the acoustic model with
density (a random inverse-density map with a sound-hard wall, a graded
absorbing layer on every face):
  power   B = 2 samples, probe powers (``simulate``): the worker threads take a sample each;
  traces  B = 1 sample, the field at a few cells after every step (``simulate_traces``),
          an impulse response: the worker threads share the one sample.
Throughput is cell-steps per second (B * nx * ny * nz * steps / seconds), the
best of ``--repeat`` runs; "per CPU-s" divides by the CPU time of all the
process's threads instead, what one fully used core delivers, a figure that
other processes on the cores disturb far less than the wall-clock one. Each engine and grid runs in its own child process,
which imports the engine and warms it up on a tiny grid (the numba kernels
compile there); "baseline" is the peak resident set size then (VmHWM:
libraries, kernels). Each case then builds its problem, restarts the peak
count (/proc/self/clear_refs) and runs: "run" is the peak less the resident
size before the runs, the memory the engine itself adds (maps, fields,
outputs), and "peak" the process's peak during them. The reference engine runs
fewer steps (``--reference-steps``): its speed does not depend on T. The
report's first line gives the load average (1, 5, 15 minutes) at the end:
other processes on the cores slow the threads down, the sharing of one
sample most.

    python benchmarks/bench_engine3d.py [--sizes 160x100x12,300x200x24] [--steps 200] [--json]
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.physics.fused3d import simulate_fused3d, simulate_traces_fused3d  # noqa: E402
from designer.physics.wave import Medium, simulate, simulate_traces  # noqa: E402

ENGINES = {"fused3d": (simulate_fused3d, simulate_traces_fused3d), "reference": (simulate, simulate_traces)}
CASES = {"power": 2, "traces": 1}  # case -> batch


def _depth(n: int, width: int) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64)
    return (torch.maximum(width - i, i - (n - 1 - width)).clamp(min=0) / width).clamp(max=1)


def problem(shape: tuple[int, int, int], batch: int, steps: int) -> dict:
    """Water-like background, random inverse density with a sound-hard wall, a line source across z."""
    g = torch.Generator().manual_seed(0)
    nx, ny, nz = shape
    width = max(1, min(8, nx // 6, ny // 6))
    depth = torch.maximum(_depth(nx, width)[:, None, None], _depth(ny, width)[None, :, None])
    q = 0.6 + 0.4 * torch.rand(shape, generator=g, dtype=torch.float64)
    q[nx // 2, ny // 4:3 * ny // 4, :] = 0.0
    source = torch.zeros(shape, dtype=torch.float64)
    source[width + 2, ny // 2, :] = 1.0
    probes = torch.zeros(3, *shape, dtype=torch.float64)
    for p in range(3):
        probes[p, nx - width - 4, (p + 1) * ny // 4 - 1:(p + 1) * ny // 4 + 2, :] = 1.0
    t = {"courant": 0.3 + 0.1 * torch.rand(shape, generator=g, dtype=torch.float64),
         "damping": 0.5 * depth.expand(shape) ** 2, "inv_density": q, "source_weights": source,
         "inputs": torch.randn(batch, steps, generator=g, dtype=torch.float64), "probe_weights": probes / probes.sum()}
    t = {k: v.float().contiguous() for k, v in t.items()}
    cells = torch.tensor([[nx - width - 4, (p + 1) * ny // 4, nz // 2] for p in range(3)])
    return {"medium": Medium(t["courant"], t["damping"], inv_density=t["inv_density"]),
            "source_weights": t["source_weights"], "inputs": t["inputs"], "probe_weights": t["probe_weights"],
            "cells": cells}


def run_case(engine: str, case: str, p: dict) -> None:
    power_fn, traces_fn = ENGINES[engine]
    with torch.no_grad():
        if case == "power":
            power_fn(p["medium"], p["source_weights"], p["inputs"], p["probe_weights"])
        else:
            traces_fn(p["medium"], p["source_weights"], p["inputs"], p["cells"])


def _status_mib(key: str) -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(key + ":"))) / 1024


def reset_peak() -> bool:
    """Restart the peak-RSS count (VmHWM) from the current RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(args) -> None:
    """In a fresh process: warm up, time both cases on one grid, report JSON."""
    shape = tuple(int(n) for n in args.child_size.split("x"))
    for case in CASES:
        run_case(args.child, case, problem((8, 7, 6), CASES[case], 4))
    out = {"baseline_mib": _status_mib("VmHWM")}
    steps = args.steps if args.child == "fused3d" else args.reference_steps
    for case, batch in CASES.items():
        p = problem(shape, batch, steps * (2 if case == "traces" else 1))
        gc.collect()
        resettable = reset_peak()
        before = _status_mib("VmRSS") if resettable else out["baseline_mib"]
        best = best_cpu = math.inf
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            run_case(args.child, case, p)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        peak = _status_mib("VmHWM")
        cells = batch * math.prod(shape) * p["inputs"].shape[1]
        out[case] = {"steps": p["inputs"].shape[1], "cells_per_s": cells / best, "cells_per_cpu_s": cells / best_cpu,
                     "peak_mib": peak, "run_mib": peak - before}
        del p
    print(json.dumps(out))


def measure(args, engine: str, size: str) -> dict:
    flags = [f"--steps={args.steps}", f"--reference-steps={args.reference_steps}", f"--repeat={args.repeat}"]
    # A fixed mmap threshold makes glibc return every large block on free, so
    # that each case's resident-size growth is its own, not the earlier case's heap.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
    done = subprocess.run([sys.executable, __file__, "--child", engine, "--child-size", size, *flags],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(args, results: dict) -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"float32, forward only, density model, best of {args.repeat}; power: B = 2, traces: B = 1;"
             f" load average at the end {load} on {os.cpu_count()} CPUs",
             f"{'grid':<12} {'engine':<10} {'case':<7} {'steps':>6} {'cell-steps/s':>13} {'per CPU-s':>10} {'run MiB':>8}"
             f" {'peak MiB':>9} {'baseline MiB':>13}"]
    for size, by_engine in results.items():
        for engine, r in by_engine.items():
            if "error" in r:
                lines.append(f"{size:<12} {engine:<10} failed: {r['error']}")
                continue
            for case in CASES:
                c = r[case]
                lines.append(f"{size:<12} {engine:<10} {case:<7} {c['steps']:>6} {c['cells_per_s']:>13.3g}"
                             f" {c['cells_per_cpu_s']:>10.3g}"
                             f" {c['run_mib']:>8.0f} {c['peak_mib']:>9.0f} {r['baseline_mib']:>13.0f}")
        f, ref = by_engine.get("fused3d", {}), by_engine.get("reference", {})
        if "power" in f and "power" in ref:
            ratios = [f"{case} {f[case]['cells_per_s'] / ref[case]['cells_per_s']:.0f}x" for case in CASES]
            lines.append(f"{size:<12} fused3d / reference: {', '.join(ratios)}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="160x100x12,240x160x16,300x200x24", help="comma-separated NXxNYxNZ grids")
    parser.add_argument("--steps", type=int, default=200, help="fused steps (traces run twice as many)")
    parser.add_argument("--reference-steps", type=int, default=8)
    parser.add_argument("--engines", default="fused3d,reference", help="comma-separated, from: " + ", ".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per case, the best reported")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--child-size", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    names = args.engines.split(",")
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; expected: {', '.join(ENGINES)}")
    results = {size: {name: measure(args, name, size) for name in names} for size in args.sizes.split(",")}
    print(json.dumps(results) if args.json else report(args, results))


if __name__ == "__main__":
    main()
