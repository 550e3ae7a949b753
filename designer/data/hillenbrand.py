"""Source ``hillenbrand``: the Hillenbrand vowel recordings.

Hillenbrand, Getty, Clark & Wheeler, "Acoustic characteristics of American
English vowels", JASA 97, 3099 (1995). Files are named ``<sex><nn><vowel>.wav``
(e.g. ``m01ae.wav``): sex m/w/b/g, a two-digit speaker number, a vowel code.
Speakers are the groups; folds balance the sexes.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignerError
from .audio import read_wav, resample
from .corpus import Corpus

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["load_hillenbrand", "NAME", "DEFAULT_VOWELS"]

NAME = re.compile(r"^([mwbg])(\d{2})([a-z]{2})\.wav$")
DEFAULT_VOWELS = ("ae", "ei", "iy")


def load_hillenbrand(spec: "DataSpec") -> Corpus:
    """Peak-normalised signals resampled to ``spec.sample_rate_hz``, one group per speaker."""
    directory = Path(spec.path)
    if not directory.is_dir():
        raise DesignerError(f"{directory}: corpus directory not found (set [data] path or --data)")
    vowels = list(spec.classes or DEFAULT_VOWELS)
    signals, labels, speakers = [], [], []
    for path in sorted(directory.iterdir()):
        m = NAME.match(path.name)
        if not m or m.group(1) not in spec.sexes or m.group(3) not in vowels:
            continue
        x, fs = read_wav(path)
        x = resample(x, fs, spec.sample_rate_hz)
        peak = np.abs(x).max()
        if peak == 0:
            continue  # a silent take carries no vowel
        signals.append(x / peak)
        labels.append(vowels.index(m.group(3)))
        speakers.append(m.group(1) + m.group(2))
    if not signals:
        raise DesignerError(f"{directory}: no files named like m01ae.wav for vowels {vowels} and sexes {list(spec.sexes)}")
    speakers = np.array(speakers)
    return Corpus(tuple(signals), np.array(labels), speakers, tuple(vowels), spec.sample_rate_hz,
                  strata=np.array([s[0] for s in speakers]), spec=spec)
