"""Small labelled datasets written in every format the data sources read, made fresh in each test.

Class k is a tone of (k + 1) x 600 Hz (at 10 kHz) with a random phase, length
and a little noise, so a device can tell the classes apart.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from tests.conftest import tiny_data

RATE_HZ = 10000.0


def tone(k: int, n: int, rng: np.random.Generator, rate_hz: float = RATE_HZ) -> np.ndarray:
    t = np.arange(n) / rate_hz
    x = np.sin(2 * np.pi * 600.0 * (k + 1) * t + rng.uniform(0, 2 * np.pi)) + 0.05 * rng.standard_normal(n)
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def series(classes: int, per_class: int, lengths: tuple[int, int], seed: int = 0):
    """(signals, labels) with lengths drawn from ``lengths`` (inclusive)."""
    rng = np.random.default_rng(seed)
    signals, labels = [], []
    for k in range(classes):
        for _ in range(per_class):
            signals.append(tone(k, int(rng.integers(lengths[0], lengths[1] + 1)), rng))
            labels.append(k)
    return signals, np.array(labels)


def write_folders(root: Path, names: list[str], per_class: int = 6, speakers: int = 3, seed: int = 0,
                  rate_hz: int = 16000, subtypes=("PCM_16", "PCM_24", "PCM_32", "FLOAT")) -> Path:
    """``root/<name>/<speaker>_take<i>.wav`` at ``rate_hz``, the sample formats taking turns, some stereo."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            x = tone(k, int(rng.integers(400, 640)), rng, rate_hz)
            if i % 3 == 2:
                x = np.stack([x, rng.standard_normal(len(x)).astype(np.float32) * 0.1], axis=1)  # first channel counts
            soundfile.write(root / name / f"s{i % speakers}_take{i}.wav", x, rate_hz, subtype=subtypes[i % len(subtypes)])
    return root


def write_npz(path: Path, classes: int = 3, per_class: int = 8, ragged: bool = True, seed: int = 0) -> Path:
    signals, labels = series(classes, per_class, (220, 320) if ragged else (260, 260), seed)
    names = np.array([f"class {chr(65 + k)}" for k in range(classes)])
    if ragged:
        arrays = {"X": np.concatenate(signals), "lengths": np.array([len(s) for s in signals])}
    else:
        arrays = {"X": np.stack(signals)}
    np.savez(path, **arrays, y=names[labels], groups=np.arange(len(labels)) % 6)
    return path


def write_csv(path: Path, classes: int = 3, per_class: int = 8, seed: int = 0) -> Path:
    signals, labels = series(classes, per_class, (220, 320), seed)
    lines = ["label," + ",".join(f"t{i}" for i in range(320))]
    lines += [f"kind{y}," + ",".join(f"{v:.6f}" for v in s) for s, y in zip(signals, labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ts(folder: Path, name: str = "Tones", classes: int = 2, train: int = 8, test: int = 6,
             length: int = 60, seed: int = 0) -> Path:
    """``<name>_TRAIN.ts`` and ``<name>_TEST.ts`` in the sktime/aeon format; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = [f"c{k}" for k in range(classes)]
    for half, per_class in (("TRAIN", train), ("TEST", test)):
        lines = [f"#a tiny {name} archive", f"@problemName {name}", "@timeStamps false", "@missing false",
                 "@univariate true", "@equalLength true", f"@seriesLength {length}",
                 "@classLabel true " + " ".join(labels), "@data"]
        for k in range(classes):
            for _ in range(per_class):
                x = tone(k, length, rng)
                lines.append(",".join(f"{v:.6f}" for v in x) + f":{labels[k]}")
        (folder / f"{name}_{half}.ts").write_text("\n".join(lines) + "\n")
    return folder


def write_tsv(folder: Path, name: str = "Tones", classes: int = 2, train: int = 8, test: int = 6, seed: int = 0,
              suffix: str = ".tsv") -> Path:
    """A UCR 2018 pair: label, then values, tab-separated, shorter series padded with NaN."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sep = "\t" if suffix == ".tsv" else "  "
    for half, per_class in (("TRAIN", train), ("TEST", test)):
        lines = []
        for k in range(classes):
            for _ in range(per_class):
                n = int(rng.integers(50, 61))
                values = [f"{v:.6f}" for v in tone(k, n, rng)] + ["NaN"] * (60 - n) * (suffix == ".tsv")
                lines.append(sep.join([f"{k + 1}", *values]))
        (folder / f"{name}_{half}{suffix}").write_text("\n".join(lines) + "\n")
    return folder


def tiny_run_data(data: dict, window_samples: int = 200) -> dict:
    """The tiny config on ``data`` (a [data] table), probes left to automatic placement."""
    doc = tiny_data()
    del doc["probes"]
    doc["data"] = {"sample_rate_hz": RATE_HZ, "window_samples": window_samples, **data}
    doc["training"].update(epochs=2, batch_size=8)
    return doc
