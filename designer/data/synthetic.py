"""Source ``synthetic``: a built-in vowel corpus from a source-filter speech synthesiser.

A glottal pulse train (Rosenberg 1971 pulse shape, with jitter and shimmer)
drives a cascade of second-order formant resonators (Klatt 1980, "Software for
a cascade/parallel formant synthesizer", JASA 67, 971). Average formant
frequencies per vowel and sex follow Hillenbrand, Getty, Clark & Wheeler,
"Acoustic characteristics of American English vowels", JASA 97, 3099 (1995),
Table V (average F0, F1, F2, F3 in Hz for men and women). Each synthetic
speaker draws a vocal-tract scale and an F0; each token draws its own formant
perturbation, jitter, onset, duration and noise, all from a fixed seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import lfilter

from ..errors import DesignerError
from .corpus import Corpus

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["FORMANTS_HZ", "SyntheticSpeaker", "synthesize_corpus", "synthesize_vowel", "load_synthetic"]

# (F0, F1, F2, F3) in Hz, Hillenbrand et al. (1995), Table V.
FORMANTS_HZ: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "m": {
        "iy": (138, 342, 2322, 3000), "ih": (135, 427, 2034, 2684), "ei": (129, 476, 2089, 2691),
        "eh": (130, 580, 1799, 2605), "ae": (123, 588, 1952, 2601), "ah": (123, 768, 1333, 2522),
        "aw": (121, 652, 997, 2538), "oa": (129, 497, 910, 2459), "oo": (133, 469, 1122, 2434),
        "uw": (143, 378, 997, 2343), "uh": (133, 623, 1200, 2550), "er": (130, 474, 1379, 1710),
    },
    "w": {
        "iy": (227, 437, 2761, 3372), "ih": (224, 483, 2365, 3053), "ei": (219, 536, 2530, 3047),
        "eh": (214, 731, 2058, 2979), "ae": (210, 669, 2349, 2972), "ah": (217, 936, 1551, 2815),
        "aw": (210, 781, 1136, 2824), "oa": (217, 555, 1035, 2828), "oo": (230, 519, 1225, 2827),
        "uw": (235, 459, 1105, 2735), "uh": (218, 753, 1426, 2933), "er": (217, 523, 1588, 1929),
    },
}
# Diphthongs glide towards another vowel's formants over the token.
GLIDE_TARGET = {"ei": "iy", "oa": "uw"}
BANDWIDTHS_HZ = (80.0, 100.0, 150.0, 250.0)
F4_HZ = {"m": 3500.0, "w": 4200.0}


@dataclass(frozen=True)
class SyntheticSpeaker:
    sex: str
    number: int
    tract_scale: float  # multiplies every formant (vocal-tract length)
    f0_scale: float  # multiplies the table's F0
    breathiness: float  # aspiration noise relative to the pulse train


def _resonator(x: np.ndarray, freqs_hz: np.ndarray, bw_hz: float, fs: float, frame: int) -> np.ndarray:
    """Second-order resonator with a piecewise-constant centre frequency (Klatt 1980)."""
    out = np.empty_like(x)
    zi = np.zeros(2)
    c = -np.exp(-2 * np.pi * bw_hz / fs)
    for start in range(0, len(x), frame):
        f = freqs_hz[start]
        b = 2 * np.exp(-np.pi * bw_hz / fs) * np.cos(2 * np.pi * f / fs)
        a = 1 - b - c
        out[start:start + frame], zi = lfilter([a], [1, -b, -c], x[start:start + frame], zi=zi)
    return out


def _glottal_train(f0_hz: np.ndarray, fs: float, rng: np.random.Generator, jitter: float, shimmer: float) -> np.ndarray:
    """Rosenberg glottal flow pulses at a time-varying F0, differentiated for lip radiation."""
    n = len(f0_hz)
    flow = np.zeros(n)
    t = 0.0
    while True:
        period = fs / (f0_hz[min(int(t), n - 1)] * (1 + jitter * rng.standard_normal()))
        start = int(t)
        if start >= n:
            break
        opening, closing = 0.4 * period, 0.16 * period
        k = np.arange(int(opening + closing) + 1)
        pulse = np.where(k < opening, 0.5 * (1 - np.cos(np.pi * k / opening)),
                         np.cos(0.5 * np.pi * (k - opening) / closing))
        pulse = np.clip(pulse, 0, None) * (1 + shimmer * rng.standard_normal())
        stop = min(n, start + len(pulse))
        flow[start:stop] += pulse[:stop - start]
        t += period
    return np.diff(flow, prepend=0.0)


def synthesize_vowel(vowel: str, speaker: SyntheticSpeaker, fs: float, rng: np.random.Generator) -> np.ndarray:
    """One token of ``vowel`` by ``speaker`` at sample rate ``fs`` (Hz), peak-normalised."""
    f0, *formants = FORMANTS_HZ[speaker.sex][vowel]
    duration_s = rng.uniform(0.22, 0.38)
    n = int(duration_s * fs)
    t = np.linspace(0, 1, n)
    f0_track = f0 * speaker.f0_scale * (1.05 - 0.1 * t) * (1 + 0.03 * rng.standard_normal())
    source = _glottal_train(f0_track, fs, rng, jitter=0.02, shimmer=0.08)
    source = source / (np.abs(source).max() + 1e-12)
    source += speaker.breathiness * rng.standard_normal(n) * 0.1
    start = np.array(formants + [F4_HZ[speaker.sex]], dtype=float)
    end = start.copy()
    if vowel in GLIDE_TARGET:
        target = np.array(FORMANTS_HZ[speaker.sex][GLIDE_TARGET[vowel]][1:] + (F4_HZ[speaker.sex],), float)
        end = start + rng.uniform(0.2, 0.4) * (target - start)
    token_scale = 1 + 0.03 * rng.standard_normal(4)
    y = source
    frame = max(1, int(0.005 * fs))
    for i, bw in enumerate(BANDWIDTHS_HZ):
        track = (start[i] + (end[i] - start[i]) * t) * speaker.tract_scale * token_scale[i]
        track = np.clip(track, 50.0, 0.45 * fs)
        y = _resonator(y, track, bw * (1 + 0.1 * rng.standard_normal()) ** 2, fs, frame)
    ramp = np.minimum(1.0, np.minimum(t * duration_s / rng.uniform(0.02, 0.05), (1 - t) * duration_s / 0.04))
    y = y * ramp
    y = y / (np.abs(y).max() + 1e-12)
    noise_db = rng.uniform(-30, -15)
    y = y + 10 ** (noise_db / 20) * rng.standard_normal(n)
    return (y / np.abs(y).max()).astype(np.float32)


def synthesize_corpus(vowels, sexes, speakers_per_sex: int, fs: float, seed: int):
    """Signals, labels and speaker ids of a synthetic corpus, one token per vowel and speaker."""
    rng = np.random.default_rng(seed)
    signals, labels, speakers = [], [], []
    for sex in sexes:
        if sex not in FORMANTS_HZ:
            raise DesignerError(f"the synthetic corpus has sexes {', '.join(FORMANTS_HZ)}, got {sex!r}")
        for number in range(1, speakers_per_sex + 1):
            spk = SyntheticSpeaker(sex, number, tract_scale=float(np.clip(1 + 0.05 * rng.standard_normal(), 0.8, 1.2)),
                                   f0_scale=float(np.clip(1 + 0.12 * rng.standard_normal(), 0.7, 1.4)),
                                   breathiness=float(rng.uniform(0.0, 1.0)))
            for label, vowel in enumerate(vowels):
                signals.append(synthesize_vowel(vowel, spk, fs, rng))
                labels.append(label)
                speakers.append(f"{sex}{number:02d}")
    return signals, np.array(labels), np.array(speakers)


def load_synthetic(spec: "DataSpec") -> Corpus:
    """The synthetic corpus for ``spec``: one group per speaker, folds balance the sexes."""
    from .hillenbrand import DEFAULT_VOWELS

    vowels = tuple(spec.classes or DEFAULT_VOWELS)
    signals, labels, speakers = synthesize_corpus(vowels, spec.sexes, spec.speakers_per_sex, spec.sample_rate_hz,
                                                  spec.seed)
    return Corpus(tuple(signals), labels, speakers, vowels, spec.sample_rate_hz,
                  strata=np.array([s[0] for s in speakers]), spec=spec)
