"""Minimum length scale of binary designs, measured with digital disks.

Definition (after the morphological rule of imageruler: Chen, Hammond,
Schubert, Johnson et al., "Validation and characterization of algorithms and
software for photonics inverse design", JOSA B 41(2), A161-A176, 2024; see
also Schevenels & Sigmund, "On the implementation and effectiveness of
morphological close-open and open-close filters for topology optimization",
SMO 54, 15-21, 2016):

* ``disk(d)`` is the ``d x d`` boolean array whose cells have centres at
  distance ``< d / 2`` from the array centre. For odd ``d`` the centre is a
  cell centre, for even ``d`` it is a cell corner. The middle row and column
  of ``disk(d)`` are ``d`` cells long, so a straight bar exactly ``w`` cells
  wide contains ``disk(w)`` but not ``disk(w + 1)`` and measures ``w``.
  ``disk(1)`` is one cell, ``disk(2)`` and ``disk(3)`` are full squares.
* A phase has minimum length scale ``>= d`` when it is unchanged by the
  opening with the family of disks of diameter ``>= d``, i.e. it is a union of
  digital disks of diameter at least ``d``. The reported value is the largest
  such ``d``. With Euclidean disks this equals imageruler's single-size
  opening test (bigger disks are unions of smaller ones). Digital disks are
  not nested (``disk(4)`` is not a union of ``disk(3)`` squares), so the
  single-size test is not monotone in ``d`` and a binary search over it is
  ill-defined; the family version is monotone and is evaluated exactly.
* Boundary convention: cells outside the design region (outside
  ``design_mask``, or outside the array) count as the phase being measured,
  as imageruler's ``PaddingMode.SOLID`` does for the solid phase. A feature
  cut by the region boundary is therefore not a violation; features are only
  judged by the part of them inside the region.
* A region with no cell of a phase, or with only that phase, gives
  ``math.inf`` for it; so does a length scale at or above the region's
  bounding box or ``MAX_RESOLVED_CELLS`` (64 cells), which are not told
  apart: every finite value returned is exact.
* Corner contacts: unions of disks may still meet corner to corner (a 2 x 2
  checkerboard), a zero-width neck or gap once traced as geometry.
  :func:`diagonal_contacts` finds them; :func:`measure` counts them, and a
  design meets a rule only with none (``designer`` records
  ``lengthscale.diagonal_contacts`` beside the two length scales).
* Cost: one Euclidean distance transform per distinct diameter on a grid of
  half-cell spacing: about one second for a 200 x 200 region.

Arrays are ``(nx, ny)`` indexed ``[ix, iy]``; lengths are in cells.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np
from scipy import ndimage

__all__ = [
    "MAX_RESOLVED_CELLS",
    "Measurement",
    "diagonal_contacts",
    "disk",
    "grayness",
    "measure",
    "min_solid_length",
    "min_void_length",
    "violations",
]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Length scales (cells) and grayness of a design."""

    min_solid_cells: float
    min_void_cells: float
    grayness: float
    diagonal_contacts: int = 0


def disk(d: int) -> np.ndarray:
    """Digital disk of diameter ``d`` cells: bool ``(d, d)``, cells with centre distance ``< d/2``."""
    if d < 1:
        raise ValueError(f"`d` must be >= 1, but got {d}.")
    c = np.arange(d) - (d - 1) / 2
    return c[:, None] ** 2 + c[None, :] ** 2 < (d / 2) ** 2


def _validate(binary: np.ndarray, design_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    binary = np.asarray(binary)
    if binary.ndim != 2:
        raise ValueError(f"`binary` must be 2-dimensional, but got shape {binary.shape}.")
    region = np.ones(binary.shape, bool) if design_mask is None else np.asarray(design_mask, bool)
    if region.shape != binary.shape:
        raise ValueError(f"`design_mask` must have shape {binary.shape}, but got shape {region.shape}.")
    return binary > 0.5, region


MAX_RESOLVED_CELLS = 64
"""Largest length scale (cells) told apart; anything wider is reported as inf."""


def _cap(region: np.ndarray) -> int:
    """Largest diameter resolved: the region's bounding box plus one, at most ``MAX_RESOLVED_CELLS``."""
    rows, cols = np.nonzero(region)
    return min(int(max(np.ptp(rows), np.ptp(cols))) + 2, MAX_RESOLVED_CELLS)


def _disk_room(inside: np.ndarray, cap: int) -> np.ndarray:
    """Largest disk diameter (cells, <= cap) that fits in ``inside`` at each half-cell point.

    Works on a grid of half-cell spacing, where cell ``(a, b)`` sits at
    ``(2a, 2b)``; centres of odd-diameter disks sit on even-even points and of
    even-diameter disks on odd-odd points (0 elsewhere). In these units a disk
    of diameter ``d`` centred at ``C`` covers cell ``Q`` iff ``|Q - C|^2 < d^2``
    and fits iff every cell outside ``inside`` is at squared distance ``>= d^2``.
    """
    fine = np.ones((2 * inside.shape[0] - 1, 2 * inside.shape[1] - 1), bool)
    fine[::2, ::2] = inside
    room = np.rint(ndimage.distance_transform_edt(fine) ** 2).astype(np.int64)
    diam = np.floor(np.sqrt(room)).astype(np.int64)
    parity = np.full(fine.shape, -1, np.int64)
    parity[::2, ::2], parity[1::2, 1::2] = 1, 0
    diam -= (diam % 2) != parity
    diam[parity < 0] = 0
    return np.minimum(diam, cap)


def _coverage(phase: np.ndarray, region: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(d, covered)`` for decreasing ``d``: phase cells inside a fitting disk of diameter ``>= d``.

    Diameters at or above the cap are tested with the cap (a subset of the
    true disk), which is why wider features read as inf rather than exactly.
    """
    cap = _cap(region)
    margin = cap // 2 + 2
    inside = np.pad(phase | ~region, margin, constant_values=True)
    target = np.pad(phase & region, margin, constant_values=False)
    diam = _disk_room(inside, cap)
    covered = np.zeros(inside.shape, bool)
    for d in np.unique(diam[diam > 0])[::-1]:
        todo = np.argwhere(target & ~covered)
        if len(todo):
            # Only centres within reach of a still-uncovered cell matter.
            lo = np.maximum(2 * todo.min(0) - d, 0)
            hi = np.minimum(2 * todo.max(0) + d + 1, diam.shape)
            centres = diam[lo[0] : hi[0], lo[1] : hi[1]] == d
            if centres.any():
                near = ndimage.distance_transform_edt(~centres) ** 2 < d * d - 0.5
                first = (lo + 1) // 2
                cells = near[2 * first[0] - lo[0] :: 2, 2 * first[1] - lo[1] :: 2]
                covered[first[0] : first[0] + cells.shape[0], first[1] : first[1] + cells.shape[1]] |= cells
        yield int(d), covered[margin:-margin, margin:-margin]


def _min_length(phase: np.ndarray, region: np.ndarray) -> float:
    target = phase & region
    if not target.any() or target.sum() == region.sum():
        return math.inf
    cap = _cap(region)
    for d, covered in _coverage(phase, region):
        if not (target & ~covered).any():
            return math.inf if d >= cap else float(d)
    raise AssertionError("every phase cell is covered by disk(1)")


def min_solid_length(binary: np.ndarray, design_mask: np.ndarray | None = None) -> float:
    """Minimum solid length scale in cells (module docstring), ``inf`` if unresolvable.

    Args:
        binary: ``(nx, ny)`` array, solid where ``> 0.5``.
        design_mask: Optional bool ``(nx, ny)`` region; cells outside are ignored.
    """
    phase, region = _validate(binary, design_mask)
    return _min_length(phase, region)


def min_void_length(binary: np.ndarray, design_mask: np.ndarray | None = None) -> float:
    """Minimum void length scale in cells: :func:`min_solid_length` of the complement."""
    phase, region = _validate(binary, design_mask)
    return _min_length(~phase, region)


def violations(binary: np.ndarray, d: int, design_mask: np.ndarray | None = None) -> np.ndarray:
    """Solid cells not inside any solid disk of diameter ``>= d``: bool ``(nx, ny)``.

    These are the cells removed by the opening with disks of diameter ``>= d``
    (diameters above the region's bounding box are clipped to it). For void
    violations pass ``1 - binary``.
    """
    phase, region = _validate(binary, design_mask)
    target = phase & region
    if d <= 1 or not target.any():
        return np.zeros(target.shape, bool)
    d = min(d, _cap(region))
    kept = np.zeros(target.shape, bool)
    for size, covered in _coverage(phase, region):
        if size < d:
            break
        kept = covered.copy()
    return target & ~kept


def diagonal_contacts(binary: np.ndarray, design_mask: np.ndarray | None = None) -> np.ndarray:
    """Corners where two cells of a phase touch only diagonally: int ``(k, 2)``.

    A 2 x 2 window holding a checkerboard (solid on one diagonal, void on the
    other) is a point where two solids and two voids meet. Both phases can
    be unions of large disks there, so the disk rule above passes it, yet as
    geometry it is a zero-width neck or a zero-width gap, whichever way the
    contour is resolved: a corner-to-corner spacing violation for a fab or
    a printer. Each row is the ``[ix, iy]`` of the window's first cell; only
    windows with all four cells in ``design_mask`` are checked.
    """
    phase, region = _validate(binary, design_mask)
    a, b, c, d = phase[:-1, :-1], phase[:-1, 1:], phase[1:, :-1], phase[1:, 1:]
    checker = (a == d) & (b == c) & (a != b)
    inside = region[:-1, :-1] & region[:-1, 1:] & region[1:, :-1] & region[1:, 1:]
    return np.argwhere(checker & inside)


def grayness(rho: np.ndarray, design_mask: np.ndarray | None = None) -> float:
    """Mean of ``4 rho (1 - rho)`` over the design region: 0 for binary, 1 for all-0.5."""
    rho = np.asarray(rho, dtype=float)
    region = np.ones(rho.shape, bool) if design_mask is None else np.asarray(design_mask, bool)
    if region.shape != rho.shape:
        raise ValueError(f"`design_mask` must have shape {rho.shape}, but got shape {region.shape}.")
    values = 4.0 * rho * (1.0 - rho)
    return float(values[region].mean()) if region.any() else 0.0


def measure(binary: np.ndarray, design_mask: np.ndarray | None = None) -> Measurement:
    """Minimum solid and void length scales (cells), grayness and diagonal contacts of ``binary``.

    Args:
        binary: ``(nx, ny)`` design; phases are ``> 0.5`` (solid) and ``<= 0.5``.
        design_mask: Optional bool ``(nx, ny)`` region to measure; cells outside
            it count as the phase being measured (module docstring).
    """
    phase, region = _validate(binary, design_mask)
    return Measurement(
        min_solid_cells=_min_length(phase, region),
        min_void_cells=_min_length(~phase, region),
        grayness=grayness(binary, region),
        diagonal_contacts=len(diagonal_contacts(phase, region)),
    )
