"""Are results independent of the CPU's instruction set? Bit-for-bit comparison and the speed cost.

Two comparisons, each between child processes that differ only in the
instruction set the code is compiled or dispatched for:

- engine: the fused engine (numba backend) on a fixed input, forward and
  gradient, with numba's kernels compiled for the host CPU and for LLVM's
  ``generic`` x86-64 target (``NUMBA_CPU_NAME=generic``: SSE2, no AVX, no FMA);
- step: one whole training step of ``examples/vowels.toml`` (density pipeline,
  filters, robust variants, engine, loss, gradient of the latent field), host
  vs. everything pinned to the baseline: ``NUMBA_CPU_NAME=generic`` plus
  ``ATEN_CPU_CAPABILITY=default`` (torch's kernels without AVX2/AVX-512);
- threads: the same step with the machine's thread count vs. one thread
  (another machine has another core count).

For each it prints whether every output is bit-identical, the largest
absolute and relative difference where not, and the time of the timed pass
under each setting. ``--save FILE`` writes this machine's host outputs;
``--against FILE`` compares them with a file saved on another machine.

    python benchmarks/bench_determinism.py [--steps N] [--repeat R] [--save F] [--against F]
"""
from __future__ import annotations

import argparse
import dataclasses
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
sys.path.insert(0, str(ROOT))

SETTINGS = {
    "engine": ("engine", {"host": {}, "generic": {"NUMBA_CPU_NAME": "generic"}}),
    "step": ("step", {"host": {}, "baseline": {"NUMBA_CPU_NAME": "generic", "ATEN_CPU_CAPABILITY": "default"}}),
    "threads": ("step", {"host": {}, "1 thread": {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}}),
}
"""name: (what runs, {label: environment}); the first label is the reference."""


def _best(fn, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def engine_outputs(args) -> tuple[dict, float]:
    """Fused engine on a seeded 160 x 100 random medium: powers and the gradients of every map."""
    import torch

    from designer.physics.absorber import damping_profile
    from designer.physics.fused import simulate_fused
    from designer.physics.wave import Medium

    nx, ny = 160, 100
    g = torch.Generator().manual_seed(0)
    x, y = torch.arange(nx)[:, None] + 0.5, torch.arange(ny)[None, :] + 0.5
    probes = torch.stack([((x - (p + 1) * nx / 4) ** 2 + (y - 0.85 * ny) ** 2 <= 9.0).float() for p in range(3)])
    source = torch.zeros(nx, ny)
    source[nx // 2, ny // 10] = 1.0
    courant = (0.3 + 0.3 * torch.rand(nx, ny, generator=g, dtype=torch.float64)).float()
    damping = damping_profile((nx, ny), 20, 0.5).float()
    kerr = (0.05 * torch.rand(nx, ny, generator=g, dtype=torch.float64)).float()
    inputs = (0.1 * torch.randn(args.batch, args.steps, generator=g, dtype=torch.float64)).float()
    weights = probes / probes.sum((1, 2), keepdim=True)
    out = {}

    def step():
        c, k = courant.clone().requires_grad_(True), kerr.clone().requires_grad_(True)
        power, _ = simulate_fused(Medium(c, damping, k, None), source, inputs, weights, backend="numba")
        loss = torch.nn.functional.cross_entropy(power, torch.arange(args.batch) % 3)
        loss.backward()
        out.update(power=power.detach().numpy(), grad_courant=c.grad.numpy(), grad_kerr=k.grad.numpy())

    step()  # compile
    return out, _best(step, args.repeat)


def step_outputs(args) -> tuple[dict, float]:
    """One training step of examples/vowels.toml on seeded inputs: the loss and the latent gradient."""
    import torch

    from designer.config import load_config
    from designer.train import _accumulate_gradient, _initial_theta, make_problem

    cfg = load_config(ROOT / "examples" / "vowels.toml")
    cfg = cfg.replace(training=dataclasses.replace(cfg.training, init="random"))
    problem = make_problem(cfg, engine="fused", device="cpu")
    g = torch.Generator().manual_seed(1)
    x = (0.1 * torch.randn(args.batch, args.steps, generator=g, dtype=torch.float64)).float()
    y = torch.arange(args.batch) % len(cfg.probes)
    out = {}

    def step():
        theta = _initial_theta(problem).requires_grad_(True)
        loss = _accumulate_gradient(problem, theta, 8.0, 0, x, y)
        out.update(loss=np.array(loss), grad_theta=theta.grad.numpy().copy())

    step()
    return out, _best(step, args.repeat)


def child(args) -> None:
    fn = engine_outputs if args.child == "engine" else step_outputs
    out, seconds = fn(args)
    np.savez(args.out, **out)
    print(json.dumps({"seconds": seconds}))


def _run(kind: str, env: dict, args, out: Path) -> float:
    cmd = [sys.executable, __file__, "--child", kind, "--out", str(out), "--steps", str(args.steps),
           "--batch", str(args.batch), "--repeat", str(args.repeat)]
    done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def compare(a: dict, b: dict) -> dict:
    """Per array: bit-identical, and the largest absolute and relative difference."""
    result = {}
    for name in a:
        x, y = np.asarray(a[name], np.float64), np.asarray(b[name], np.float64)
        same = a[name].tobytes() == b[name].tobytes()
        diff = float(np.max(np.abs(x - y))) if x.size else 0.0
        scale = float(np.max(np.abs(x))) if x.size else 0.0
        result[name] = {"bit_identical": same, "max_abs": diff, "max_rel": diff / scale if scale else 0.0}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--save", type=Path, help="write this machine's host outputs here (npz)")
    parser.add_argument("--against", type=Path, help="compare the host outputs with a file from --save")
    parser.add_argument("--child", choices=("engine", "step"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    saved = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, settings) in SETTINGS.items():
            runs = {}
            for label, env in settings.items():
                path = Path(tmp) / f"{name}-{len(runs)}.npz"
                seconds = _run(kind, env, args, path)
                with np.load(path) as data:
                    runs[label] = ({k: data[k] for k in data.files}, seconds)
            (host, t_host), (other, t_other) = runs.values()
            label = list(settings)[1]
            print(f"{name}: host ({t_host:.3f} s) vs {label} ({t_other:.3f} s, {t_other / t_host:.2f}x the time)")
            for name, r in compare(host, other).items():
                print(f"  {name:14s} {'bit-identical' if r['bit_identical'] else 'DIFFERS'}"
                      f"  max |diff| {r['max_abs']:.3g} (relative {r['max_rel']:.3g})")
            saved.update({f"{kind}.{k}": v for k, v in host.items()})  # "threads" repeats "step"
    if args.save:
        np.savez(args.save, **saved)
        print(f"saved host outputs to {args.save}")
    if args.against:
        with np.load(args.against) as data:
            theirs = {k: data[k] for k in data.files}
        print(f"this machine vs {args.against}:")
        for name, r in compare(saved, theirs).items():
            print(f"  {name:20s} {'bit-identical' if r['bit_identical'] else 'DIFFERS'}"
                  f"  max |diff| {r['max_abs']:.3g} (relative {r['max_rel']:.3g})")


if __name__ == "__main__":
    main()
