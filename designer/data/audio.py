"""Reading WAV files (soundfile / libsndfile) and bringing signals to the run's sample rate."""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ..errors import DesignerError
from .corpus import check_signal

__all__ = ["read_wav", "resample", "normalise", "NORMALISE"]


def read_wav(path: Path) -> tuple[np.ndarray, float]:
    """The first channel of a WAV file as float32 (PCM scaled to [-1, 1)) and its sample rate in Hz.

    Any sample rate and any sample format libsndfile reads (8/16/24/32-bit
    PCM, 32/64-bit float). Errors name the file: unreadable, empty (zero
    frames), a zero sample rate, non-finite samples, a folder named like a file.
    """
    import soundfile

    path = Path(path)
    if path.is_dir():
        raise DesignerError(f"{path}: is a folder, expected a WAV file")
    try:
        with soundfile.SoundFile(path) as f:
            rate = float(f.samplerate)
            frames = f.frames
            data = f.read(dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise DesignerError(f"{path}: file not found") from None
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        if _header_rate(path) == 0:  # libsndfile refuses such a header without saying why
            raise DesignerError(f"{path}: sample rate 0 Hz in the header; expected a positive rate") from None
        raise DesignerError(f"{path}: not a readable WAV file ({_one_line(exc)})") from None
    if not rate > 0:
        raise DesignerError(f"{path}: sample rate {rate:g} Hz in the header; expected a positive rate")
    if frames == 0 or data.shape[0] == 0:
        raise DesignerError(f"{path}: no audio frames (an empty recording)")
    return check_signal(data[:, 0], str(path)), rate


def _header_rate(path: Path) -> int | None:
    """The sample rate a WAV header states, read by scipy, or None when scipy cannot read it either."""
    from scipy.io import wavfile

    try:
        return int(wavfile.read(path, mmap=True)[0])
    except (ValueError, OSError, EOFError, TypeError):
        return None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    """Polyphase resampling with scipy's anti-aliasing filter (ratio to within 1/1000)."""
    if from_hz == to_hz:
        return x
    if not (math.isfinite(from_hz) and from_hz > 0):
        raise DesignerError(f"sample rate {from_hz!r} Hz: expected a positive rate")
    ratio = Fraction(to_hz / from_hz).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def _peak(x: np.ndarray, where: str) -> np.ndarray:
    peak = float(np.abs(x).max())
    if peak == 0:
        raise DesignerError(f"{where}: silent (every sample is zero); expected a signal")
    return (x / peak).astype(np.float32)


NORMALISE = {
    "peak": _peak,
    "none": lambda x, where: x,
}
"""How each signal is scaled after resampling: to a peak of 1, or left as stored."""


def normalise(x: np.ndarray, how: str, where: str) -> np.ndarray:
    if how not in NORMALISE:
        raise DesignerError(f"normalise {how!r}: expected one of {', '.join(NORMALISE)}")
    return NORMALISE[how](x, where)
