"""What a passive linear device could reach: the device's functional form with free weights.

    python benchmarks/band_classifier.py CONFIG [--folds 5] [--bands 64]

A linear wave device's probe power is p_j = sum_f |X(f)|^2 |H_j(f)|^2 (Parseval;
Hughes et al., Science Advances 2019): a non-negative weighting of the input's
power spectrum. The readout (designer.readout) names the class from the p_j:
the largest p_k (intensity), or the largest ratio p_k+ / p_k- of a pair
(ratio). This script fits those weights freely, W_jf = softplus(V_jf) over
``--bands`` frequency bands, by the training loss the device uses (the
readout's cross-entropy), on the config's splits, and prints in one run the
test accuracy of this bound for each readout and for

  recorded   the signal as recorded (no drive chain), and
  injected   the signal through the template's drive chain (resampling, the
             low-pass and high-pass that are part of the device),

so the rows show what the readout buys and what the drive's band costs
before any geometry does.
It is a reference, not a strict bound: a device integrates a finite window
(the series and its ring-down), which is not purely a power-spectrum
weighting, and the fit sees ``--bands`` bands, not every frequency (on
ItalyPowerDemand's 24-sample series a trained smooth design beat it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.config import load_config  # noqa: E402
from designer.data import load_corpus  # noqa: E402
from designer.drive import drive_for  # noqa: E402
from designer.metrics import cross_entropy  # noqa: E402
from designer.readout import READOUTS, Readout  # noqa: E402
from designer.runner import make_splits  # noqa: E402


def band_powers(signals, rate_hz: float, bands: int, drive=None) -> np.ndarray:
    """(N, bands) energy of each signal in equal bands from 0 to the signal's Nyquist rate_hz / 2."""
    out = np.zeros((len(signals), bands))
    for i, s in enumerate(signals):
        x = np.asarray(s, dtype=np.float64)
        k = 1
        if drive is not None:
            x, k = drive.numpy(x), drive.factor
        spec = np.abs(np.fft.rfft(x)) ** 2
        hz = np.fft.rfftfreq(len(x), 1.0 / (rate_hz * k))
        edges = np.linspace(0.0, rate_hz / 2, bands + 1)
        which = np.clip(np.searchsorted(edges, hz, side="right") - 1, 0, bands)
        out[i] = np.bincount(which, weights=spec, minlength=bands + 1)[:bands]
    return out


def fit(train_x: np.ndarray, train_y: np.ndarray, classes: int, readout: Readout = READOUTS["intensity"],
        steps: int = 600, seed: int = 0) -> torch.Tensor:
    """(probes, bands) non-negative weights fitted by the readout's cross-entropy."""
    scale = train_x.mean(0) + 1e-30
    x = torch.as_tensor(train_x / scale)
    y = torch.as_tensor(train_y)
    v = (0.01 * torch.randn(readout.probes_for(classes), x.shape[1], generator=torch.Generator().manual_seed(seed),
                            dtype=torch.float64)).requires_grad_(True)
    opt = torch.optim.Adam([v], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = cross_entropy(x @ torch.nn.functional.softplus(v).T, y, readout)
        loss.backward()
        opt.step()
    return torch.nn.functional.softplus(v.detach()) / torch.as_tensor(scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--folds", type=int, default=None, help="override [training] folds")
    parser.add_argument("--bands", type=int, default=64)
    args = parser.parse_args()
    cfg = load_config(args.config)
    if args.folds is not None:
        cfg = cfg.replace(training=cfg.training.__class__(**{**cfg.training.__dict__, "folds": args.folds}))
    corpus = load_corpus(cfg.data)
    splits = make_splits(cfg, corpus)
    rate = cfg.data.sample_rate_hz
    classes = len(cfg.data.classes)
    rows = {}
    for name, drive in (("recorded", None), ("injected", drive_for(cfg))):
        x = band_powers(corpus.signals, rate, args.bands, drive)
        for readout in READOUTS.values():
            accs = []
            for split in splits:
                w = fit(x[split.train], corpus.labels[split.train], classes, readout)
                pred = readout.predict(torch.as_tensor(x[split.test]) @ w.T)
                accs.append(float((pred == corpus.labels[split.test]).mean()))
            rows[f"{readout.name:9s} {name}"] = accs
    print(f"{args.config}: {len(splits)} split(s), {args.bands} bands of {rate / 2 / args.bands:.0f} Hz (signal), "
          f"chance {100 / classes:.1f} %")
    for name, accs in rows.items():
        folds = " / ".join(f"{100 * a:.1f}" for a in accs)
        print(f"{name:18s} test {100 * np.mean(accs):5.1f} +/- {100 * np.std(accs):4.1f} %   ({folds})")


if __name__ == "__main__":
    main()
