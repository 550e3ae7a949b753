"""What a passive linear device could reach: the device's functional form with free weights.

    python benchmarks/band_classifier.py CONFIG [--folds 5] [--bands 64] [--range-db 10,20,30]

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
before any geometry does. As the device does, it fits on the training
signals' centred windows (``[data] window_samples``; whole signals when 0)
and tests on whole signals. With ``--range-db`` it also fits weights that
span at most that many dB between bands: a part's transfer |H_j(f)|^2 spans
a finite range of levels (``benchmarks/part_response.py`` measures it on a
trained part), and a bound that needs 60 dB between bands says little about
a part that reaches 10.
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
from designer.data.batches import centred_window  # noqa: E402
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
        steps: int = 600, seed: int = 0, range_db: float | None = None) -> torch.Tensor:
    """(probes, bands) non-negative weights fitted by the readout's cross-entropy.

    range_db: the most a probe's weights may differ between two bands, in dB
    (W_jb = exp(s_j + L sigmoid(v_jb)), L = range_db ln(10) / 10), as a part
    whose transfer |H_j(f)|^2 spans a finite range of levels; None: any
    non-negative weights.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.as_tensor(train_y)
    probes = readout.probes_for(classes)
    if range_db is None:
        scale = train_x.mean(0) + 1e-30
        x = torch.as_tensor(train_x / scale)
        v = (0.01 * torch.randn(probes, x.shape[1], generator=g, dtype=torch.float64)).requires_grad_(True)
        params = [v]

        def weights():
            return torch.nn.functional.softplus(v)
    else:
        scale = 1.0
        x = torch.as_tensor(train_x / train_x.sum(1, keepdims=True))  # the readouts ignore a sample's level
        v = (0.01 * torch.randn(probes, x.shape[1], generator=g, dtype=torch.float64)).requires_grad_(True)
        s = torch.zeros(probes, 1, dtype=torch.float64, requires_grad=True)
        params = [v, s]
        span = range_db * np.log(10.0) / 10.0

        def weights():
            return torch.exp(s + span * torch.sigmoid(v))
    opt = torch.optim.Adam(params, lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = cross_entropy(x @ weights().T, y, readout)
        loss.backward()
        opt.step()
    return weights().detach() / torch.as_tensor(scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--folds", type=int, default=None, help="override [training] folds")
    parser.add_argument("--bands", type=int, default=64)
    parser.add_argument("--range-db", default="", help="also fit weights spanning at most these dB, comma-separated")
    args = parser.parse_args()
    cfg = load_config(args.config)
    if args.folds is not None:
        cfg = cfg.replace(training=cfg.training.__class__(**{**cfg.training.__dict__, "folds": args.folds}))
    corpus = load_corpus(cfg.data)
    splits = make_splits(cfg, corpus)
    rate = cfg.data.sample_rate_hz
    classes = len(cfg.data.classes)
    ranges = [None] + [float(r) for r in args.range_db.split(",") if r]
    window = cfg.data.window_samples
    # As the device: it trains on centred windows of the training signals, and is tested on whole signals.
    trained_on = [centred_window(s, window) for s in corpus.signals] if window else corpus.signals
    rows = {}
    for name, drive in (("recorded", None), ("injected", drive_for(cfg))):
        x = band_powers(corpus.signals, rate, args.bands, drive)
        xw = band_powers(trained_on, rate, args.bands, drive) if window else x
        for readout in READOUTS.values():
            for range_db in ranges:
                accs, fits = [], []
                for split in splits:
                    w = fit(xw[split.train], corpus.labels[split.train], classes, readout, range_db=range_db)
                    pred = readout.predict(torch.as_tensor(x[split.test]) @ w.T)
                    accs.append(float((pred == corpus.labels[split.test]).mean()))
                    # how well the weights fit what they were fitted on (a part's "train" figure)
                    seen = readout.predict(torch.as_tensor(xw[split.train]) @ w.T)
                    fits.append(float((seen == corpus.labels[split.train]).mean()))
                limit = "" if range_db is None else f" {range_db:g} dB"
                rows[f"{readout.name:9s} {name}{limit}"] = (accs, fits)
    trained = f"centred {window}-sample windows" if window else "whole signals"
    print(f"{args.config}: {len(splits)} split(s), {args.bands} bands of {rate / 2 / args.bands:.0f} Hz (signal), "
          f"trained on {trained}, tested on whole signals, chance {100 / classes:.1f} %")
    for name, (accs, fits) in rows.items():
        folds = " / ".join(f"{100 * a:.1f}" for a in accs)
        print(f"{name:24s} test {100 * np.mean(accs):5.1f} +/- {100 * np.std(accs):4.1f} %   ({folds})   "
              f"train {100 * np.mean(fits):5.1f} %")


if __name__ == "__main__":
    main()
