"""Hand-drawn and random designs for the fabrication tests."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from fabrication import ProbeMarker, SourceMarker

SOURCES = (SourceMarker("src_line", "line", (4, 10, 4, 30)), SourceMarker("src_pt", "point", (6, 6)))
PROBES = (ProbeMarker("out", (44, 20), 2.5),)


def ring_with_island(shape=(48, 40)) -> np.ndarray:
    """A square ring (4 cells wide) around a hole holding a 6x6 island,
    plus a bar. Every feature is >= 4 cells and every gap >= 4 cells, so it
    meets rules of 2 cells with margin."""
    a = np.zeros(shape, dtype=bool)
    a[12:36, 8:32] = True
    a[16:32, 12:28] = False
    a[21:27, 17:23] = True
    a[12:36, 4:6] = False
    return a


def blobs(shape, sigma_cells: float, seed: int, fill: float = 0.0) -> np.ndarray:
    """Thresholded smoothed noise: blobby features a few sigma wide."""
    noise = np.random.default_rng(seed).standard_normal(shape)
    smooth = gaussian_filter(noise, sigma_cells, mode="wrap")
    return smooth > fill * smooth.std()
