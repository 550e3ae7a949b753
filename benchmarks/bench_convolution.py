"""The impulse engine's convolution: its written-out gradient against autograd's, side by side in one run.

The impulse engine (designer.physics.impulse) turns one traced impulse
(T steps x C probe cells) into every sample's probe powers by FFT
convolution. On the 12-vowel examples (T = 4000, 72 probe cells, batch 84)
that convolution, forward and gradient, is most of a training batch. This
script times a training step of it (forward, then the gradient with respect
to the traces, as training needs: the inputs are data) two ways:

  autograd   the convolution written as tensor operations in float64,
             differentiated by autograd (the engine before its gradient was
             written out and before it convolved in the run's precision);
  engine     designer.physics.impulse.powers_from_traces as it is now, on
             traces and inputs of ``--dtype`` (training runs are float32).

and prints the CPU seconds (the wall time of one thread on an idle machine),
the peak resident memory each adds (each in its own child process) and the
largest relative difference of the powers and of the trace gradient between
the two.

    python benchmarks/bench_convolution.py [--steps 4000] [--cells 72] [--batch 84] [--probes 24] [--gates 1] [--dtype float32]
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import peak_rss_mib  # noqa: E402  (this folder, the script's own)
from designer.physics.impulse import CHUNK_BYTES, gate_of_step, powers_from_traces  # noqa: E402


def autograd_powers(traces, weights, inputs, gates=1, gate_delay=0):
    """The same powers, every operation left to autograd (the engine's former form)."""
    batch, steps = inputs.shape
    n_fft = 1 << math.ceil(math.log2(max(2 * steps - 1, 2)))
    g = torch.fft.rfft(traces[:steps].double(), n=n_fft, dim=0)
    chunk = max(1, CHUNK_BYTES // (g.shape[0] * g.shape[1] * 32))
    out = []
    for start in range(0, batch, chunk):
        x = inputs[start:start + chunk].double()
        y = torch.fft.irfft(torch.fft.rfft(x, n=n_fft, dim=1)[:, :, None] * g[None], n=n_fft, dim=1)[:, :steps]
        square = y * y
        if gates > 1:
            gate = gate_of_step(steps, torch.full((x.shape[0],), steps), gates, gate_delay)
            one_hot = torch.nn.functional.one_hot(gate, gates + 1)[..., :gates].double()
            out.append((torch.einsum("btg,btc->bgc", one_hot, square) @ weights.double().T).reshape(x.shape[0], -1))
        else:
            out.append(square.sum(1) @ weights.double().T)
    return torch.cat(out)


def _problem(args):
    gen = torch.Generator().manual_seed(0)
    decay = torch.exp(-torch.arange(args.steps, dtype=torch.float64) / (args.steps / 3))[:, None]
    traces = torch.randn(args.steps, args.cells, generator=gen, dtype=torch.float64) * decay
    weights = torch.rand(args.probes, args.cells, generator=gen, dtype=torch.float64)
    inputs = torch.randn(args.batch, args.steps, generator=gen, dtype=torch.float64)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    return traces.to(dtype), weights.to(dtype), inputs.to(dtype)


def child(args) -> None:
    torch.set_num_threads(args.threads)
    fn = {"autograd": autograd_powers, "engine": powers_from_traces}[args.child]
    traces, weights, inputs = _problem(args)
    small = argparse.Namespace(**{**vars(args), "steps": 64, "batch": 4})  # warm up the FFT plans
    t, w, x = _problem(small)
    fn(t.requires_grad_(True), w, x, gates=args.gates).sum().backward()
    baseline = peak_rss_mib()
    traces.requires_grad_(True)
    start = time.process_time()  # CPU seconds: the wall time on an idle machine, and not inflated beside other work
    power = fn(traces, weights, inputs, gates=args.gates)
    forward = time.process_time() - start
    power.sum().backward()
    total = time.process_time() - start
    torch.save({"power": power.detach().double(), "grad": traces.grad.double()}, args.out)
    print(json.dumps({"forward": forward, "step": total, "mib": peak_rss_mib() - baseline}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--cells", type=int, default=72)
    parser.add_argument("--batch", type=int, default=84)
    parser.add_argument("--probes", type=int, default=24)
    parser.add_argument("--gates", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="the traces and inputs")
    parser.add_argument("--child", choices=["autograd", "engine"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import tempfile
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("autograd", "engine"):
            out = Path(tmp) / f"{name}.pt"
            cmd = [sys.executable, __file__, *sys.argv[1:], "--child", name, "--out", str(out)]
            rows[name] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            rows[name]["result"] = torch.load(out, weights_only=True)
    a, e = rows["autograd"]["result"], rows["engine"]["result"]
    print(f"convolution of {args.batch} inputs x {args.steps} steps with {args.cells} probe cells, {args.probes} probes, "
          f"{args.gates} gate(s), {args.dtype} traces and inputs, {args.threads} thread(s)")
    print(f"{'':10s} {'forward s':>10s} {'step s':>8s} {'+MiB':>7s}")
    for name, row in rows.items():
        print(f"{name:10s} {row['forward']:10.2f} {row['step']:8.2f} {row['mib']:7.0f}")
    print(f"speed-up of a training step: {rows['autograd']['step'] / rows['engine']['step']:.2f}x")
    power = float(((a["power"] - e["power"]) / a["power"]).abs().max())
    grad = float((a["grad"] - e["grad"]).abs().max() / a["grad"].abs().max())
    print(f"largest relative difference in a power: {power:.1e}; in the trace gradient: {grad:.1e} of its largest value")


if __name__ == "__main__":
    main()
