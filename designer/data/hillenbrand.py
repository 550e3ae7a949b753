"""Loader for the Hillenbrand vowel recordings.

Hillenbrand, Getty, Clark & Wheeler, "Acoustic characteristics of American
English vowels", JASA 97, 3099 (1995). Files are named ``<sex><nn><vowel>.wav``
(e.g. ``m01ae.wav``): sex m/w/b/g, a two-digit speaker number, a vowel code.
"""
from __future__ import annotations

import re
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ..errors import DesignerError

__all__ = ["load_hillenbrand", "read_wav", "resample"]

NAME = re.compile(r"^([mwbg])(\d{2})([a-z]{2})\.wav$")


def read_wav(path: Path) -> tuple[np.ndarray, float]:
    """Mono 16-bit PCM WAV -> float32 samples in [-1, 1] and the sample rate in Hz."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise DesignerError(f"{path}: expected 16-bit PCM WAV, got {8 * w.getsampwidth()}-bit")
            raw = w.readframes(w.getnframes())
            x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
            if w.getnchannels() > 1:
                x = x.reshape(-1, w.getnchannels()).mean(axis=1)
            return x, float(w.getframerate())
    except (wave.Error, EOFError) as exc:
        raise DesignerError(f"{path}: not a readable WAV file ({exc})") from None


def resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    """Polyphase resampling with scipy's anti-aliasing filter."""
    if from_hz == to_hz:
        return x
    ratio = Fraction(to_hz / from_hz).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def load_hillenbrand(directory: str | Path, vowels, sexes, sample_rate_hz: float):
    """Signals (peak-normalised, resampled), labels and speaker ids from ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DesignerError(f"{directory}: corpus directory not found (set [data] path or --data)")
    signals, labels, speakers = [], [], []
    for path in sorted(directory.iterdir()):
        m = NAME.match(path.name)
        if not m or m.group(1) not in sexes or m.group(3) not in vowels:
            continue
        x, fs = read_wav(path)
        x = resample(x, fs, sample_rate_hz)
        peak = np.abs(x).max()
        if peak == 0:
            continue
        signals.append(x / peak)
        labels.append(vowels.index(m.group(3)))
        speakers.append(m.group(1) + m.group(2))
    if not signals:
        raise DesignerError(f"{directory}: no files named like m01ae.wav for vowels {list(vowels)} and sexes {list(sexes)}")
    return signals, np.array(labels), np.array(speakers)
