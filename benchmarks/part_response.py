"""How a fabricated part weighs the input's spectrum: its probes' response lengths and level ranges.

    python benchmarks/part_response.py RUN [RUN ...] [--fraction 0.9]

A linear part's probe j reads p_j = sum_f |X(f)|^2 |H_j(f)|^2 (Parseval;
Hughes et al., Science Advances 2019), so |H_j|^2 are the readout's weights
on the input's power spectrum. For each run (a run folder, or a fold's) this
traces one impulse through the run's fabricated part (the geometry verify
simulates, through the drive chain) and prints, per probe, the median over
probes of

  length   the time holding the central ``fraction`` of the response's energy
           (signal time; the drive chain's own response is printed beside);
  range    the spread of |H_j(f)|^2, in dB, between its 5th and 95th
           percentiles over the frequencies that hold the central
           ``fraction`` of the run's training signals' energy (third-octave
           means, so that single notches do not count).

Compare the range with ``benchmarks/band_classifier.py CONFIG --range-db``:
the accuracy the readout reaches at best when its weights span no more
than that many dB.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.data import load_corpus  # noqa: E402
from designer.data.batches import centred_window  # noqa: E402
from designer.design import load_design  # noqa: E402
from designer.drive import drive_for  # noqa: E402
from designer.export import config_of  # noqa: E402
from designer.report.simulate import ImpulseResponse, impulse_response  # noqa: E402


def signal_band(cfg, signals, fraction: float) -> tuple[float, float]:
    """Device frequencies (Hz) between which the central ``fraction`` of the signals' injected energy lies."""
    drive = drive_for(cfg)
    total = None
    n_fft = 1 << int(np.ceil(np.log2(max(len(s) for s in signals) * drive.factor)))
    for s in signals:
        freq, energy = drive.spectrum(drive.numpy(np.asarray(s, dtype=np.float64)), n_fft)
        total = energy if total is None else total + energy
    cum = np.cumsum(total) / total.sum()
    return float(freq[np.argmax(cum >= (1 - fraction) / 2)]), float(freq[np.argmax(cum >= (1 + fraction) / 2)])


def level_range_db(device_hz: np.ndarray, power: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(P,) dB between the 5th and 95th percentiles of each probe's third-octave mean |H|^2 over [lo, hi]."""
    edges = lo * 2.0 ** (np.arange(0, np.log2(hi / lo) + 1e-9, 1 / 3))
    edges = np.append(edges, hi) if edges[-1] < hi else edges
    means = []
    for a, b in zip(edges[:-1], edges[1:]):
        inside = (device_hz >= a) & (device_hz < b)
        if inside.any():
            means.append(power[:, inside].mean(1))
    means = np.stack(means, 1)
    return 10 * np.log10(np.percentile(means, 95, axis=1) / np.maximum(np.percentile(means, 5, axis=1), 1e-300))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--fraction", type=float, default=0.9)
    args = parser.parse_args()
    for run in args.runs:
        design = load_design(run)
        cfg = config_of(design)
        rho = design.arrays["fabricated"] if "fabricated" in design.arrays else design.binary
        corpus = load_corpus(cfg.data)
        train = np.asarray(design.arrays["train_indices"]) if "train_indices" in design.arrays \
            else np.arange(len(corpus.signals))
        w = cfg.data.window_samples
        signals = [centred_window(corpus.signals[i], w) if w else corpus.signals[i] for i in train]
        samples = 2 * max(len(s) for s in signals) + 1000
        response = impulse_response(cfg, rho, samples)
        per_ms = cfg.data.sample_rate_hz * cfg.steps_per_sample / 1000.0
        length = response.duration_steps(args.fraction) / per_ms
        impulse = np.zeros(samples)
        impulse[16] = 1.0
        alone = ImpulseResponse(drive_for(cfg).numpy(impulse)[:, None], np.ones((1, 1)), 0, response.clock)
        chain = float(alone.duration_steps(args.fraction)[0]) / per_ms
        transfer = response.transfer()  # the same traced impulse
        lo, hi = signal_band(cfg, signals, args.fraction)
        spread = level_range_db(transfer.device_hz, transfer.power, lo, hi)
        print(f"{run}: {len(cfg.probes)} probes; length {np.median(length):.1f} ms of signal time (median; "
              f"{length.min():.1f}-{length.max():.1f}; the drive chain alone {chain:.1f}); range "
              f"{np.median(spread):.1f} dB (median; {spread.min():.1f}-{spread.max():.1f}) over "
              f"{lo / 1e3:.1f}-{hi / 1e3:.1f} kHz (device), {100 * args.fraction:g} % of the training signals' energy",
              flush=True)


if __name__ == "__main__":
    main()
