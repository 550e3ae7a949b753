"""Fused vs reference engine at paper scale: throughput and peak memory, side by side.

Paper scale (Hughes et al. 2019): 160 x 100 cells, batch 21, 1000 steps, float32.
Throughput is cell-steps per second (batch * nx * ny * steps / seconds) for a
forward pass alone (no_grad) and for a training step: forward, a cross-entropy
loss on the probe powers, and its gradient with respect to the maps a design
sets. Each engine runs in its own child process, which imports it, warms it up
on a tiny grid, times both passes and reports its peak resident set size,
nothing subtracted (VmHWM; ru_maxrss off Linux), with the same figure taken
after the warm-up as "baseline": the libraries and compiled kernels, which do
not depend on the problem (torch alone is about 220 MiB, numba's runtime with
the kernels about 135). "step" is peak minus baseline, the memory the timed
passes themselves add, which is what grows with the grid, batch and steps.
"private" is peak RSS less the pages mapped from files (library code, shared
with every process that loads it): an upper bound on the peak memory the
process owns, because those pages only grow after the warm-up.
On CUDA the peak of allocated GPU memory is reported too.

The reference engine keeps every step's tensors (about 6 field copies per step,
13 with the nonlinearities), so where that would not fit in 60 % of the free
memory it runs fewer steps, and the report says how many.

``--density`` gives the medium a random inverse density (acoustics with
density: the divergence-form operator) and differentiates with respect to
courant and inv_density. ``--traces`` times ``simulate_traces`` instead, the
linear-response workload: by default one sample (B = 1) on 200 x 200 cells
for 4000 steps, the field traced at every probe cell, and the training step
differentiates a weighted sum of the squared traces.

    python benchmarks/bench_engine.py [--nonlinear | --density] [--traces] [--steps N] [--json]
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.physics.absorber import damping_profile  # noqa: E402
from designer.physics.fused import BACKENDS, simulate_fused, simulate_traces_fused  # noqa: E402
from designer.physics.wave import Medium, simulate, simulate_traces  # noqa: E402

ENGINES = {"fused": simulate_fused, "reference": simulate}
TRACE_ENGINES = {"fused": simulate_traces_fused, "reference": simulate_traces}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# The reference engine's autograd memory per step, in copies of the (B, nx, ny)
# field: measured 6.1 (linear) and 13 (nonlinear) at paper scale, plus a margin;
# the divergence form's pads and fluxes take about twice the linear figure.
REFERENCE_FIELDS_PER_STEP = {"linear": 8, "nonlinear": 17, "density": 16}
# --traces defaults: the linear-response workload.
TRACE_DEFAULTS = {"batch": 1, "nx": 200, "ny": 200, "steps": 4000}
PAPER_DEFAULTS = {"batch": 21, "nx": 160, "ny": 100, "steps": 1000}


def problem(args, steps: int | None = None, batch: int | None = None, nx: int | None = None,
            ny: int | None = None) -> dict:
    """A random design with an absorbing frame, one point source and three disc probes.

    Inputs are small enough (0.1 randn) that the Kerr term keeps the nonlinear
    runs inside the stability limit.
    """
    steps, batch = steps or args.steps, batch or args.batch
    nx, ny = nx or args.nx, ny or args.ny
    g = torch.Generator().manual_seed(0)
    x = torch.arange(nx)[:, None] + 0.5
    y = torch.arange(ny)[None, :] + 0.5
    probes = torch.stack([((x - (p + 1) * nx / 4) ** 2 + (y - 0.85 * ny) ** 2 <= 9.0).double() for p in range(3)])
    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[nx // 2, max(1, ny // 10)] = 1.0
    t = {
        "courant": 0.3 + 0.3 * torch.rand(nx, ny, generator=g, dtype=torch.float64),
        "damping": damping_profile((nx, ny), min(20, nx // 4, ny // 4), 0.5),
        "kerr": 0.05 * torch.rand(nx, ny, generator=g, dtype=torch.float64) if args.nonlinear else None,
        "saturable": 0.1 * torch.rand(nx, ny, generator=g, dtype=torch.float64) if args.nonlinear else None,
        "source_weights": source,
        "inputs": 0.1 * torch.randn(batch, steps, generator=g, dtype=torch.float64),
        "probe_weights": probes / probes.sum((1, 2), keepdim=True),
        # A fluid (1/rho = 1) and a solid four times as dense, mixed at random.
        "inv_density": 1.0 - 0.75 * torch.rand(nx, ny, generator=g, dtype=torch.float64) if args.density else None,
    }
    return {k: None if v is None else v.to(device=args.device, dtype=DTYPES[args.dtype]) for k, v in t.items()}


MAPS = ("courant", "kerr", "saturable", "inv_density")


def _run(engine, p: dict, maps: dict, traces: bool) -> torch.Tensor:
    """Probe powers (B, P), or with ``traces`` the squared traces weighted per probe, (B, P)."""
    medium = Medium(maps["courant"], p["damping"], maps["kerr"], maps["saturable"], inv_density=maps["inv_density"])
    if not traces:
        return engine(medium, p["source_weights"], p["inputs"], p["probe_weights"])[0]
    cells = torch.nonzero(p["probe_weights"].sum(0) > 0)
    out = engine(medium, p["source_weights"], p["inputs"], cells)
    return torch.einsum("btc,pc->bp", out * out, p["probe_weights"][:, cells[:, 0], cells[:, 1]])


def forward_only(engine, p: dict, traces: bool) -> None:
    with torch.no_grad():
        _run(engine, p, {k: p[k] for k in MAPS}, traces)


def training_step(engine, p: dict, traces: bool) -> None:
    maps = {k: None if p[k] is None else p[k].clone().requires_grad_(True) for k in MAPS}
    power = _run(engine, p, maps, traces)
    torch.nn.functional.cross_entropy(power, torch.arange(power.shape[0], device=power.device) % 3).backward()


def seconds(fn, device: str, repeat: int) -> float:
    """Best wall-clock time of ``repeat`` calls."""
    best = math.inf
    for _ in range(repeat):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mib() -> float:
    """This process's peak resident set size.

    Linux folds the RSS of the process that forked us into ru_maxrss at exec,
    so a child of a large parent would report the parent's size; VmHWM, the
    high-water mark of this process's own memory map, does not.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


def shared_file_mib() -> float | None:
    """Resident pages mapped from files (shared-library code and data), RssFile; None off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    kib = [int(line.split()[1]) for line in status.splitlines() if line.startswith("RssFile:")]
    return kib[0] / 1024 if kib else None


def engine_for(args, name: str):
    registry = TRACE_ENGINES if args.traces else ENGINES
    return functools.partial(registry[name], backend=args.backend) if name == "fused" else registry[name]


def child(args) -> None:
    """In a fresh process: warm up, time both passes, report throughput and peak memory as JSON."""
    engine = engine_for(args, args.child)
    training_step(engine, problem(args, steps=8, batch=2, nx=12, ny=10), args.traces)  # compiles or loads kernels
    out = {"baseline_mib": peak_rss_mib(), "steps": args.steps}
    mapped = shared_file_mib()
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    p = problem(args)
    cells = args.batch * args.nx * args.ny * args.steps
    out["forward_cells_per_s"] = cells / seconds(lambda: forward_only(engine, p, args.traces), args.device,
                                                 args.repeat)
    out["fwd_grad_cells_per_s"] = cells / seconds(lambda: training_step(engine, p, args.traces), args.device,
                                                  args.repeat)
    out["peak_mib"] = peak_rss_mib()
    out["step_mib"] = out["peak_mib"] - out["baseline_mib"]
    # File-backed pages only grow after the warm-up (no memory pressure), so
    # peak RSS minus their size then bounds the peak private memory above.
    out["private_mib"] = None if mapped is None else out["peak_mib"] - mapped
    if args.device.startswith("cuda"):
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(out))


def free_bytes(device: str) -> int:
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return 2**63
    return int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemAvailable:"))) * 1024


def affordable_steps(args, name: str) -> int:
    """All the steps, or as many as the reference engine's stored graph lets fit."""
    if name != "reference":
        return args.steps
    field = args.batch * args.nx * args.ny * DTYPES[args.dtype].itemsize
    per_step = REFERENCE_FIELDS_PER_STEP[kind(args)] * field
    return max(1, min(args.steps, int(0.6 * free_bytes(args.device) / per_step)))


def kind(args) -> str:
    return "nonlinear" if args.nonlinear else "density" if args.density else "linear"


def measure(args, name: str) -> dict:
    steps = affordable_steps(args, name)
    flags = [f"--{k}={getattr(args, k)}" for k in ("batch", "nx", "ny", "dtype", "device", "backend", "repeat")]
    flags += [f"--steps={steps}"] + [f"--{k}" for k in ("nonlinear", "density", "traces") if getattr(args, k)]
    done = subprocess.run([sys.executable, __file__, "--child", name, *flags], capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return {"steps": steps, "forward_cells_per_s": None, "fwd_grad_cells_per_s": None, "peak_mib": None,
                "error": reason}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _g(x: float | None, fmt: str) -> str:
    return "failed" if x is None else format(x, fmt)


def report(args, results: dict) -> str:
    media = {"nonlinear": "nonlinear (kerr + saturable)", "density": "linear with density", "linear": "linear"}
    lines = [f"{args.nx} x {args.ny} cells, batch {args.batch}, {args.steps} steps, {args.dtype}, {args.device}, "
             f"{media[kind(args)]}, {'traces' if args.traces else 'probe power'}, fused backend {args.backend}",
             f"{'engine':<10} {'forward cells/s':>16} {'fwd+grad cells/s':>17} {'peak MiB':>9} {'baseline MiB':>13}"
             f" {'step MiB':>9} {'private MiB':>12}"]
    for name, r in results.items():
        line = (f"{name:<10} {_g(r['forward_cells_per_s'], '16.3g'):>16} {_g(r['fwd_grad_cells_per_s'], '17.3g'):>17}"
                f" {_g(r['peak_mib'], '9.0f'):>9} {_g(r.get('baseline_mib'), '13.0f'):>13}"
                f" {_g(r.get('step_mib'), '9.0f'):>9} {_g(r.get('private_mib'), '12.0f'):>12}")
        if r["steps"] != args.steps:
            line += f"  (at {r['steps']} steps: more would not fit in memory)"
        if "peak_gpu_mib" in r:
            line += f"  GPU peak {r['peak_gpu_mib']:.0f} MiB"
        if "error" in r:
            line += f"  ({r['error']})"
        lines.append(line)
    f, r = results.get("fused"), results.get("reference")
    if f and r and None not in (f["forward_cells_per_s"], r["forward_cells_per_s"], f["fwd_grad_cells_per_s"],
                                r["fwd_grad_cells_per_s"]):
        lines.append(f"fused / reference: forward {f['forward_cells_per_s'] / r['forward_cells_per_s']:.1f}x, "
                     f"fwd+grad {f['fwd_grad_cells_per_s'] / r['fwd_grad_cells_per_s']:.1f}x")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for key in PAPER_DEFAULTS:
        parser.add_argument(f"--{key}", type=int,
                            help=f"default {PAPER_DEFAULTS[key]}, {TRACE_DEFAULTS[key]} with --traces")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--device", default="cpu")
    media = parser.add_mutually_exclusive_group()
    media.add_argument("--nonlinear", action="store_true", help="kerr and saturable absorption on")
    media.add_argument("--density", action="store_true", help="a random inverse density (divergence form) on")
    parser.add_argument("--traces", action="store_true",
                        help="time simulate_traces (default B = 1, 200 x 200, 4000 steps)")
    parser.add_argument("--backend", choices=["auto", *BACKENDS], default="auto", help="the fused engine's backend")
    parser.add_argument("--engines", default="fused,reference", help="comma-separated, from: " + ", ".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=2,
                        help="timed repetitions, the best reported (the first pays for fresh memory pages)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for key, value in (TRACE_DEFAULTS if args.traces else PAPER_DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.child:
        child(args)
        return
    names = args.engines.split(",")
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; expected: {', '.join(ENGINES)}")
    results = {name: measure(args, name) for name in names}
    print(json.dumps(results) if args.json else report(args, results))


if __name__ == "__main__":
    main()
