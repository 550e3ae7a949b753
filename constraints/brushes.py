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
defects an optional ``check`` finds, such as the exported polygons' width
or space violations as a foundry's DRC measures them, edge to edge (two
square brushes meeting along a short edge, a one-cell jog in a line at the
rule). Every run keeps
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

from collections.abc import Callable, Sequence

import numpy as np
from numba import njit

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


@njit(cache=False)  # compiled per process: numba reads its cache index with pickle
def _paint_forced(state, ph, a0, a1, offs, offs_other, valid, valid_other, score, k_other):  # pragma: no cover
    """Step 2 of the module docstring, compiled: paint, invalidate, and paint what is forced.

    Painting touch ``(a0, a1)`` of phase ``ph`` invalidates every ``-ph``
    touch over its new cells; each free cell nearby left with no valid
    ``-ph`` touch gets the best-scoring valid ``ph`` touch covering it
    (first in brush order on ties), pushed on a stack and painted in turn.
    """
    h, w = state.shape
    vh, vw = valid_other.shape
    sh, sw = valid.shape
    stack = [(a0, a1)]
    cells = np.empty((offs.shape[0], 2), np.int64)
    while len(stack) > 0:
        t0, t1 = stack.pop()
        n = 0
        for o in range(offs.shape[0]):
            c0, c1 = t0 + offs[o, 0], t1 + offs[o, 1]
            if state[c0, c1] == _FREE:
                cells[n, 0], cells[n, 1] = c0, c1
                n += 1
        if n == 0:
            continue
        lo0, lo1, hi0, hi1 = h, w, 0, 0
        for i in range(n):
            state[cells[i, 0], cells[i, 1]] = ph
            lo0, lo1 = min(lo0, cells[i, 0]), min(lo1, cells[i, 1])
            hi0, hi1 = max(hi0, cells[i, 0]), max(hi1, cells[i, 1])
            for o in range(offs_other.shape[0]):
                b0, b1 = cells[i, 0] - offs_other[o, 0], cells[i, 1] - offs_other[o, 1]
                if 0 <= b0 < vh and 0 <= b1 < vw:
                    valid_other[b0, b1] = False
        for x in range(max(lo0 - (k_other - 1), 0), min(hi0 + k_other, h)):
            for y in range(max(lo1 - (k_other - 1), 0), min(hi1 + k_other, w)):
                if state[x, y] != _FREE:
                    continue
                reached = False
                for o in range(offs_other.shape[0]):
                    b0, b1 = x - offs_other[o, 0], y - offs_other[o, 1]
                    if 0 <= b0 < vh and 0 <= b1 < vw and valid_other[b0, b1]:
                        reached = True
                        break
                if reached:
                    continue
                best, b_best0, b_best1 = -np.inf, -1, -1
                for o in range(offs.shape[0]):
                    b0, b1 = x - offs[o, 0], y - offs[o, 1]
                    if 0 <= b0 < sh and 0 <= b1 < sw and valid[b0, b1] and (b_best0 < 0 or score[b0, b1] > best):
                        best, b_best0, b_best1 = score[b0, b1], b0, b1
                if b_best0 < 0:
                    raise AssertionError("invariant broken: a forced cell has no valid touch")
                stack.append((b_best0, b_best1))


def brush_design(
    field: np.ndarray,
    region: np.ndarray,
    eta: float,
    solid_cells: int,
    void_cells: int,
    fixed_solid: np.ndarray | None = None,
    check: Callable[[np.ndarray], Sequence[tuple[int, int]]] | None = None,
    void: np.ndarray | None = None,
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
        void: Optional bool ``(nx, ny)``: cells that must stay void, for
            example the gaps of the layer below in a relief. They must be a
            union of void disks (a design that meets the void rule), so each
            has a valid void touch: pinned at ``eta - PIN`` they are painted
            void first, and a repair window that holds one is pinned void.

    Returns:
        Bool ``(nx, ny)``, True for solid (always False outside ``region``).
    """
    if solid_cells < 1 or void_cells < 1:
        raise ValueError(f"brush diameters must be >= 1, but got {solid_cells} and {void_cells}.")
    field = np.array(field, dtype=float)
    region = np.asarray(region, bool)
    frame = np.zeros(region.shape, bool) if fixed_solid is None else np.asarray(fixed_solid, bool) & ~region
    half = max(solid_cells, void_cells) // 2
    keep = np.zeros(region.shape, bool) if void is None else np.asarray(void, bool) & region
    field[keep] = eta - PIN
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
            sign = -PIN if keep[window].any() else _pin(field, region, eta, solid_cells, void_cells, window, out)
            field[window][region[window]] = eta + sign
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
    # Scores never change, so popping a heap of (-score, phase, i, j) is this sort.
    keys = [(ph, np.argwhere(painter.valid[ph])) for ph in (_SOLID, _VOID)]
    phase = np.concatenate([np.full(len(a), ph, np.int64) for ph, a in keys])
    anchors = np.concatenate([a for _, a in keys]).astype(np.int64)
    score = np.concatenate([painter.score[ph][a[:, 0], a[:, 1]] for ph, a in keys])
    order = np.lexsort((anchors[:, 1], anchors[:, 0], phase, -score))
    _paint_in_order(painter.state, phase[order], anchors[order], painter.offsets[_SOLID], painter.offsets[_VOID],
                    painter.valid[_SOLID], painter.valid[_VOID], painter.score[_SOLID], painter.score[_VOID],
                    painter.brush[_SOLID].shape[0], painter.brush[_VOID].shape[0])
    p = painter.pad
    return painter.state[p:-p, p:-p] == _SOLID


@njit(cache=False)  # compiled per process: numba reads its cache index with pickle
def _paint_in_order(state, phase, anchors, offs_s, offs_v, valid_s, valid_v, score_s, score_v, k_s, k_v):  # pragma: no cover
    """Step 1 of the module docstring, compiled: each touch in order, if still valid and not redundant."""
    for n in range(phase.shape[0]):
        i, j = anchors[n, 0], anchors[n, 1]
        solid = phase[n] == _SOLID
        offs = offs_s if solid else offs_v
        if not (valid_s[i, j] if solid else valid_v[i, j]):
            continue
        covers = False
        for o in range(offs.shape[0]):
            if state[i + offs[o, 0], j + offs[o, 1]] == _FREE:
                covers = True
                break
        if not covers:
            continue
        if solid:
            _paint_forced(state, _SOLID, i, j, offs_s, offs_v, valid_s, valid_v, score_s, k_v)
        else:
            _paint_forced(state, _VOID, i, j, offs_v, offs_s, valid_v, valid_s, score_v, k_s)
