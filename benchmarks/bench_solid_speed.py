"""What the solid's simulated speed changes: a trained channel design with PLA's real speed.

    python benchmarks/bench_solid_speed.py RUN [--steps-factor F]

acoustic-channel simulates its walls at air's speed with PLA's impedance
(model_sound_speed_m_per_s, model_density_kg_per_m3), so that air sets the
time step. This script re-simulates the run's fabricated geometry (the
exported polygons, as verify reads them) on its test set three ways, in one
run, and prints their accuracies, per-sample agreement and probe powers:

  model     the template as trained (walls at 343 m/s, 8026 kg/m3);
  model/F   the same with F times more time steps (isolates the time step);
  PLA       real PLA, 2220 m/s and 1240 kg/m3, with F times more time steps
            (F = 8 keeps c dt / h under the 2D limit in PLA).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.design import find_design, load_design  # noqa: E402
from designer.export import config_of  # noqa: E402
from designer.train import evaluate, make_problem  # noqa: E402
from designer.verify import _test_set  # noqa: E402


def _variant(cfg, factor: int, real: bool):
    t = cfg.template
    material = t.material
    if real:
        material = dataclasses.replace(material, model_speed_m_per_s=None, model_density_kg_per_m3=None)
    steps = cfg.steps_per_sample * factor
    return dataclasses.replace(cfg, template=dataclasses.replace(t, material=material),
                               simulation=dataclasses.replace(cfg.simulation, steps_per_sample=steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--steps-factor", type=int, default=8)
    args = parser.parse_args()
    design = load_design(find_design(args.run))
    cfg = config_of(design)
    corpus, indices = _test_set(cfg, design, None)
    rho_np = np.asarray(design.arrays["fabricated"])
    rows = []
    for label, factor, real in (("model", 1, False), (f"model/{args.steps_factor}", args.steps_factor, False),
                                ("PLA", args.steps_factor, True)):
        variant = _variant(cfg, factor, real)
        t = variant.template
        nu = t.max_speed_m_per_s * variant.dt_s / t.cell_size_m
        problem = make_problem(variant)
        rho = torch.as_tensor(rho_np, dtype=problem.dtype)
        ev = evaluate(problem, corpus, indices, rho, None, cfg.training.batch_size)
        order = np.argsort(ev.indices)
        rows.append((label, nu, ev, ev.predicted[order], np.exp(ev.log_probs[order])))
    base = rows[0]
    print(f"run {args.run}: {len(indices)} test samples; walls simulated at "
          f"{cfg.template.material.simulated_speed_m_per_s:g} m/s, {cfg.template.material.simulated_density_kg_per_m3:g} "
          f"kg/m3; PLA is {cfg.template.material.speed_m_per_s:g} m/s, {cfg.template.material.density_kg_per_m3:g} kg/m3")
    print(f"{'variant':12s} {'c_max dt/h':>10s} {'accuracy':>9s} {'agrees':>8s} {'max |dp| of normalised powers':>30s}")
    for label, nu, ev, pred, probs in rows:
        agree = float((pred == base[3]).mean())
        delta = float(np.abs(probs - base[4]).max())
        print(f"{label:12s} {nu:10.3f} {100 * ev.accuracy:8.1f}% {100 * agree:7.1f}% {delta:30.4f}")


if __name__ == "__main__":
    main()
