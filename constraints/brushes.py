"""Brush-based generator of designs that meet a length scale by construction.

A design meets the rule of :mod:`constraints.measure` when every solid cell
lies in a solid ``disk(ds)`` and every void cell in a void ``disk(dv)`` (cells
outside the region count as either phase). The generator paints such disks
("touches") and keeps the invariant that every unpainted cell can still be
reached by a valid touch of each phase, so it never gets stuck:

1. Pop the best remaining touch (solid score ``min(x - eta)`` over the brush,
   void score ``min(eta - x)``); skip it if it overlaps the other phase or
   paints nothing new; otherwise paint it.
2. Painting phase ``p`` may leave an unpainted cell ``q`` with no valid touch
   of the other phase. ``q`` still has a valid ``p`` touch (only the other
   phase invalidates ``p`` touches), so paint the best ``p`` touch covering
   ``q``, and repeat until no such cell is left.
3. When no touch is left every cell is painted, each by a touch of its phase.

So the output is a union of solid disks and its complement a union of void
disks: ``measure`` reports at least ``ds`` and ``dv``. If the thresholded
field ``x > eta`` already meets the rule, touches lying wholly inside its
phases score above all others and never conflict, so the output equals it.

Diagonal contacts: unions of disks can still meet corner to corner (a 2 x 2
checkerboard, see :func:`constraints.measure.diagonal_contacts`), a point
where the exported contour has zero width or zero gap. After a run, each
such window is pinned in the field to one phase (all its cells at
``eta +- PIN``, so the touches over it score first for that phase and last
for the other): the phase whose pin alone changes fewer cells of the run's
design, since a trained device is sensitive to every cell it loses. Then the
generator runs again; the windows of
defects still found widen by a cell each round. The same loop removes the
defects an optional ``check`` finds, such as polygon design-rule violations
at necks where two square brushes meet along a short edge. Every run keeps
the disk guarantee above, so the pins only choose between valid designs;
the loop stops when no defect is left (at most ``MAX_ROUNDS`` runs).

References
----------
Schubert, M. F., Cheung, A. K. C., Williamson, I. A. D., Spyra, A. &
Alexander, D. H. (2022). Inverse design of photonic devices with strict
foundry fabrication constraints. ACS Photonics 9, 2327-2336 (brush/touch
generator; this is a simplified variant with the same feasibility guarantee).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

from constraints.measure import diagonal_contacts, disk

__all__ = ["brush_design"]

_FREE, _SOLID, _VOID, _OUTSIDE = 0, 1, -1, 2

PIN = 1.0e3
"""Offset from ``eta`` that pins a cell's phase (fields are densities in [0, 1])."""

MAX_ROUNDS = 12
"""Generator runs spent removing diagonal contacts and ``check`` defects."""


def _brush_min(values: np.ndarray, brush: np.ndarray) -> np.ndarray:
    """``out[t] = min over brush offsets o of values[t + o]``; shape shrinks by ``k - 1``."""
    k = brush.shape[0]
    h, w = values.shape[0] - k + 1, values.shape[1] - k + 1
    out = np.full((h, w), np.inf)
    for i, j in np.argwhere(brush):
        np.minimum(out, values[i : i + h, j : j + w], out=out)
    return out


class _Painter:
    """Mutable state of one generator run (private; see module docstring)."""

    def __init__(self, field: np.ndarray, region: np.ndarray, eta: float, sizes: dict[int, int]):
        self.pad = max(sizes.values())
        p = self.pad
        self.state = np.pad(np.where(region, _FREE, _OUTSIDE), p, constant_values=_OUTSIDE).astype(np.int8)
        margin = np.pad(np.where(region, field - eta, np.inf), p, constant_values=np.inf)
        self.brush = {ph: disk(d) for ph, d in sizes.items()}
        self.offsets = {ph: np.argwhere(b) for ph, b in self.brush.items()}
        # Cells outside the region are +inf so they never lower a score; a
        # touch with no cell in the region keeps +inf and is dropped as invalid.
        self.score = {
            _SOLID: _brush_min(margin, self.brush[_SOLID]),
            _VOID: _brush_min(np.where(np.isinf(margin), np.inf, -margin), self.brush[_VOID]),
        }
        self.valid = {ph: np.isfinite(s) for ph, s in self.score.items()}

    def covers_free(self, ph: int, t: tuple[int, int]) -> bool:
        k = self.brush[ph].shape[0]
        window = self.state[t[0] : t[0] + k, t[1] : t[1] + k]
        return bool((window[self.brush[ph]] == _FREE).any())

    def paint(self, ph: int, t: tuple[int, int]) -> None:
        """Paint touch ``t`` of phase ``ph`` and resolve the cells it forces."""
        stack = [t]
        while stack:
            a = stack.pop()
            cells = self.offsets[ph] + np.asarray(a)
            cells = cells[self.state[cells[:, 0], cells[:, 1]] == _FREE]
            if len(cells) == 0:
                continue
            self.state[cells[:, 0], cells[:, 1]] = ph
            for q in self._forced(-ph, cells):
                if self.state[q[0], q[1]] == _FREE:
                    stack.append(self._best_touch(ph, q))

    def _forced(self, other: int, cells: np.ndarray) -> np.ndarray:
        """Invalidate ``other`` touches over ``cells``; return free cells left without one."""
        offs = self.offsets[other]
        valid = self.valid[other]
        anchors = (cells[:, None, :] - offs[None, :, :]).reshape(-1, 2)
        keep = (anchors >= 0).all(1) & (anchors[:, 0] < valid.shape[0]) & (anchors[:, 1] < valid.shape[1])
        anchors = anchors[keep]
        valid[anchors[:, 0], anchors[:, 1]] = False
        k = self.brush[other].shape[0]
        lo = np.maximum(cells.min(0) - (k - 1), 0)
        hi = cells.max(0) + k
        hi = np.minimum(hi, self.state.shape)
        reach = np.zeros(hi - lo, bool)
        for i, j in offs:
            a0, a1 = lo[0] - i, lo[1] - j
            src = valid[max(a0, 0) : max(hi[0] - i, 0), max(a1, 0) : max(hi[1] - j, 0)]
            reach[max(-a0, 0) : max(-a0, 0) + src.shape[0], max(-a1, 0) : max(-a1, 0) + src.shape[1]] |= src
        free = self.state[lo[0] : hi[0], lo[1] : hi[1]] == _FREE
        return np.argwhere(free & ~reach) + lo

    def _best_touch(self, ph: int, q: np.ndarray) -> tuple[int, int]:
        anchors = q[None, :] - self.offsets[ph]
        valid = self.valid[ph]
        keep = (anchors >= 0).all(1) & (anchors[:, 0] < valid.shape[0]) & (anchors[:, 1] < valid.shape[1])
        anchors = anchors[keep]
        anchors = anchors[valid[anchors[:, 0], anchors[:, 1]]]
        if len(anchors) == 0:
            raise AssertionError("invariant broken: a forced cell has no valid touch")
        best = np.argmax(self.score[ph][anchors[:, 0], anchors[:, 1]])
        return int(anchors[best, 0]), int(anchors[best, 1])


def brush_design(
    field: np.ndarray,
    region: np.ndarray,
    eta: float,
    solid_cells: int,
    void_cells: int,
    fixed_solid: np.ndarray | None = None,
    check: Callable[[np.ndarray], Sequence[tuple[int, int]]] | None = None,
) -> np.ndarray:
    """Binary design close to ``field > eta`` whose phases are unions of disks.

    Guarantee: with ``m = measure(out, region)``, ``m.min_solid_cells >=
    solid_cells`` and ``m.min_void_cells >= void_cells`` (module docstring).
    Diagonal contacts, with cells outside ``region`` counted as void except
    ``fixed_solid``, and the defects ``check`` reports are removed where
    ``MAX_ROUNDS`` runs can (the tests search random fields for a
    counterexample; callers re-check what they ship).

    Args:
        field: Filtered density, float ``(nx, ny)``.
        region: Bool ``(nx, ny)``; cells outside are left void and ignored.
        eta: Threshold of the nominal design.
        solid_cells: Solid brush diameter, integer cells >= 1.
        void_cells: Void brush diameter, integer cells >= 1.
        fixed_solid: Optional bool ``(nx, ny)``: solid cells outside
            ``region`` (a frame), seen only when looking for contacts.
        check: Optional extra test of a candidate design (bool ``(nx, ny)``)
            returning the ``(ix, iy)`` cells of its defects, for example the
            design-rule check of the exported polygons. Each defect is pinned
            over a square one brush wide around it, like a contact.

    Returns:
        Bool ``(nx, ny)``, True for solid (always False outside ``region``).
    """
    if solid_cells < 1 or void_cells < 1:
        raise ValueError(f"brush diameters must be >= 1, but got {solid_cells} and {void_cells}.")
    field = np.array(field, dtype=float)
    region = np.asarray(region, bool)
    frame = np.zeros(region.shape, bool) if fixed_solid is None else np.asarray(fixed_solid, bool) & ~region
    half = max(solid_cells, void_cells) // 2
    for rounds in range(MAX_ROUNDS):
        out = _paint(field, region, eta, solid_cells, void_cells)
        # Defect windows as (first cell, last cell + 1); they widen every round.
        windows = [((i, j), (i + 2, j + 2)) for i, j in diagonal_contacts(out | frame)]
        if check is not None and not windows:  # a contact is a DRC defect too: fix contacts first
            windows = [((i - half, j - half), (i + half + 1, j + half + 1)) for i, j in check(out)]
        windows = [_box(lo, hi, rounds) for lo, hi in windows if region[_box(lo, hi, rounds)].any()]
        if not windows:
            return out
        for window in windows:
            field[window][region[window]] = eta + _pin(field, region, eta, solid_cells, void_cells, window, out)
    return out


def _pin(field, region, eta, solid_cells, void_cells, window, current) -> float:
    """``+PIN`` or ``-PIN``: the phase whose pin on ``window`` changes the fewest cells of ``current``.

    Ties go to the phase the window's field leans to.
    """
    changed = {}
    for sign in (PIN, -PIN):
        trial = field.copy()
        trial[window][region[window]] = eta + sign
        changed[sign] = int((_paint(trial, region, eta, solid_cells, void_cells) != current).sum())
    lean = PIN if field[window][region[window]].mean() > eta else -PIN
    return min((changed[s], s != lean, s) for s in (PIN, -PIN))[2]


def _box(lo: tuple[int, int], hi: tuple[int, int], grow: int) -> tuple[slice, slice]:
    return slice(max(int(lo[0]) - grow, 0), int(hi[0]) + grow), slice(max(int(lo[1]) - grow, 0), int(hi[1]) + grow)


def _paint(field: np.ndarray, region: np.ndarray, eta: float, solid_cells: int, void_cells: int) -> np.ndarray:
    """One generator run (module docstring, steps 1-3)."""
    painter = _Painter(field, region, eta, {_SOLID: solid_cells, _VOID: void_cells})
    heap = [
        (-painter.score[ph][i, j], ph, int(i), int(j))
        for ph in (_SOLID, _VOID)
        for i, j in np.argwhere(painter.valid[ph])
    ]
    heapq.heapify(heap)
    while heap:
        _, ph, i, j = heapq.heappop(heap)
        if painter.valid[ph][i, j] and painter.covers_free(ph, (i, j)):
            painter.paint(ph, (i, j))
    p = painter.pad
    return painter.state[p:-p, p:-p] == _SOLID
