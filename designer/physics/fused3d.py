"""Fused 3D forward engine: the reference recurrence on a (nx, ny, nz) grid, fused kernels, no autograd.

Same equations, arguments and results as :func:`designer.physics.wave.simulate`
and :func:`designer.physics.wave.simulate_traces` (Hughes, Williamson, Minkov &
Fan, Science Advances 5, eaay6946, 2019) for a linear 3D medium, the speed-only
wave equation or the acoustic one with density (``inv_density``), forward only:
it verifies a part, it does not train one, so asking for a gradient is an error.

On CPU the numba kernels of :mod:`designer.physics.fused3d_kernels` run every
step of a sample in one call, plane by plane across one axis and a block of
steps at a time through each plane (temporal blocking), the axis and the
block length chosen for the cache (:func:`_layout`). ``NUMBA_NUM_THREADS``
worker threads (default: the CPU count) take a sample each; samples left over
when the batch does not divide evenly (a batch of one, say) are shared by all
workers, each taking its share of every block's steps. Workers
flush denormals to zero: far ahead of a wavefront the field falls below 1e-38
in float32, where every operation costs a microcode assist. The results do not
depend on the block length or on how samples are shared out (bit for bit).
Other devices run the reference steps under ``torch.no_grad``.
"""
from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from . import wave
from .wave import Medium

__all__ = ["simulate_fused3d", "simulate_traces_fused3d"]

DTYPES = (torch.float32, torch.float64)
# The arrays a run streams should stay in about half the last-level cache of
# the machine this was tuned on (2 cores, 32 MiB L3, 1 MiB L2 per core).
_CACHE_BYTES = 16 * 2**20
_BLOCK = 8
_MAX_BLOCK = 16


def _layout(shape: tuple[int, int, int], arrays: int, itemsize: int, concurrent: int,
            workers: int) -> tuple[tuple[int, int, int], int]:
    """Kernel axis order (the caller's axes behind kernel axes 0, 1, 2) and block length m.

    arrays: maps plus the two field buffers; concurrent: samples in flight at
    once. Long planes stream faster (measured: 1.6e9 against 1.3e9 cell-steps/s
    on one core for planes of 16k and 1.4k cells), so a grid whose arrays fit
    the cache budget whole is cut across its shortest axis, with m = workers.
    A larger grid is cut across the axis giving the largest planes whose
    wavefront, m + 2 planes of every array per sample in flight, fits the
    budget at m = 8 (the smallest planes if none does), and m is then as large
    as the budget allows, 2 to 16 and at most a quarter of the grid's length:
    memory traffic falls m-fold. Rows run along
    the longer of the two axes left (each row's two padding cells are wasted
    work). m is a multiple of ``workers``.
    """
    def order(first: int) -> tuple[int, int, int]:
        rest = sorted((d for d in range(3) if d != first), key=lambda d: (shape[d], d))
        return first, rest[0], rest[1]

    def plane_bytes(o: tuple[int, int, int]) -> int:
        return (shape[o[1]] + 2) * (shape[o[2]] + 2) * arrays * itemsize

    orders = [order(d) for d in range(3)]
    whole = math.prod(n + 2 for n in shape) * itemsize * (arrays - 2 + 2 * concurrent)
    if whole <= _CACHE_BYTES:
        best, m = max(orders, key=plane_bytes), workers
    else:
        fits = [o for o in orders if concurrent * (_BLOCK + 2) * plane_bytes(o) <= _CACHE_BYTES]
        best = max(fits, key=plane_bytes) if fits else min(orders, key=plane_bytes)
        m = max(2, min(_MAX_BLOCK, _CACHE_BYTES // (concurrent * plane_bytes(best)) - 2))
    # Threads sharing a sample overlap only while the wavefront crosses the grid, m planes deep.
    m = min(m, max(2, shape[best[0]] // 4))
    return best, -(-m // workers) * workers


def _check(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor, probe_weights: torch.Tensor,
           record_every: int, lengths: torch.Tensor | None) -> None:
    shape = tuple(medium.courant.shape)
    if len(shape) != 3:
        raise ValueError(f"`courant` must be 3-dimensional (nx, ny, nz), but got shape {shape}.")
    if not medium.linear:
        raise ValueError("the fused 3D engine runs linear media only, but `kerr` or `saturable` is set.")
    named = {"damping": medium.damping, "inv_density": medium.inv_density, "source_weights": source_weights}
    for name, t in named.items():
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"`{name}` must have the courant map's shape {shape}, but got {tuple(t.shape)}.")
    if probe_weights.dim() != 4 or tuple(probe_weights.shape[1:]) != shape:
        raise ValueError(f"`probe_weights` must have shape (P, *{shape}), but got {tuple(probe_weights.shape)}.")
    if inputs.dim() != 2:
        raise ValueError(f"`inputs` must be 2-dimensional (B, T), but got shape {tuple(inputs.shape)}.")
    if record_every < 0:
        raise ValueError(f"`record_every` must be >= 0, but got {record_every}.")
    if lengths is not None:
        if tuple(lengths.shape) != (inputs.shape[0],):
            raise ValueError(f"`lengths` must have shape ({inputs.shape[0]},), but got {tuple(lengths.shape)}.")
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
            raise ValueError(f"`lengths` must hold integers, but got dtype {lengths.dtype}.")
    tensors = [t for t in (*named.values(), medium.courant, inputs, probe_weights, lengths) if t is not None]
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise ValueError(f"all tensors must be on one device, but got {sorted(map(str, devices))}.")
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        raise ValueError("the fused 3D engine runs forward only, but a tensor requires grad; "
                         "run it under torch.no_grad() or use the reference engine for gradients.")


def _dtype(tensors) -> torch.dtype:
    dtype = functools.reduce(torch.promote_types, [t.dtype for t in tensors if t is not None])
    if dtype not in DTYPES:
        raise ValueError(f"the tensors promote to {dtype}; expected one of: float32, float64.")
    return dtype


def _csr(planes: np.ndarray, n0: int, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Entries sorted by padded plane (stable), with the pointer array of n0 + 3 entries."""
    order = np.argsort(planes, kind="stable")
    ptr = np.zeros(n0 + 3, np.int64)
    np.cumsum(np.bincount(planes, minlength=n0 + 2), out=ptr[1:])
    return (ptr, *(np.ascontiguousarray(c[order]) for c in columns))


def _array(t: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """A CPU tensor as a numpy array of ``dtype`` (a view when it already is)."""
    return t.detach().numpy().astype(dtype, copy=False)


def _faces(q: np.ndarray) -> list[np.ndarray]:
    """:func:`designer.physics.wave.face_coefficients` in numpy: the same IEEE operations, bit for bit.

    The maps are prepared with numpy, not torch: a torch operation on a large
    tensor runs on torch's OpenMP threads, which then spin for milliseconds
    on the cores the kernels are about to use.
    """
    faces = []
    for axis in range(q.ndim):
        def part(sl):
            return q[(slice(None),) * axis + (sl,)]

        lo, hi = part(slice(0, -1)), part(slice(1, None))
        total = lo + hi
        inner = 2.0 * lo * hi / np.where(total > 0, total, 1.0)
        faces.append(np.concatenate([part(slice(0, 1)), inner, part(slice(-1, None))], axis=axis))
    return faces


class _Grid:
    """The problem in the kernels' layout: axes permuted, padded, planes flattened.

    ``perm[d]`` is the caller's axis behind kernel axis d and ``every`` the
    block length, both from :func:`_layout` for ``concurrent`` samples in
    flight on ``workers`` threads.
    """

    def __init__(self, medium: Medium, dtype: torch.dtype, concurrent: int, workers: int):
        shape = medium.shape
        arrays = (2 if medium.inv_density is None else 5) + 2
        self.perm, self.every = _layout(shape, arrays, dtype.itemsize, concurrent, workers)
        self.workers = workers
        self.n0, self.n1, self.n2 = (shape[d] for d in self.perm)
        self.dtype = torch.empty(0, dtype=dtype).numpy().dtype
        courant = self.orient(_array(medium.courant, self.dtype))
        damping = self.orient(_array(medium.damping, self.dtype))
        padded = np.zeros((arrays - 2, self.n0 + 2, self.n1 + 2, self.n2 + 2), self.dtype)
        padded[0, 1:-1, 1:-1, 1:-1] = courant * courant
        padded[1, 1:-1, 1:-1, 1:-1] = 1.0 / (1.0 + 0.5 * damping)
        if medium.inv_density is not None:
            faces = _faces(self.orient(_array(medium.inv_density, self.dtype)))
            # Face i along an axis is each cell's face towards its lower neighbour; the last is the upper boundary.
            padded[2, 1:, 1:-1, 1:-1] = faces[0]
            padded[3, 1:-1, 1:, 1:-1] = faces[1]
            padded[4, 1:-1, 1:-1, 1:] = faces[2]
        self.maps = padded.reshape(padded.shape[0], self.n0 + 2, -1)
        self.k = np.array([2.0, 6.0], self.dtype)

    def orient(self, a: np.ndarray) -> np.ndarray:
        """The caller's (nx, ny, nz) in kernel axis order."""
        return np.ascontiguousarray(a.transpose(self.perm))

    def restore(self, t: torch.Tensor) -> torch.Tensor:
        """Kernel axis order (..., n0, n1, n2) back to the caller's."""
        lead = t.dim() - 3
        inverse = np.argsort(self.perm)
        return t.permute(*range(lead), *(lead + int(d) for d in inverse))

    def flat(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Padded plane and in-plane flat index of cells (N, 3) given in the caller's axes."""
        i, j, k = (cells[:, d] for d in self.perm)
        return i + 1, (j + 1) * (self.n2 + 2) + k + 1

    def supports(self, weights: torch.Tensor) -> tuple[np.ndarray, ...]:
        """CSR (ptr, index, weight, probe) of the nonzero entries of (P, nx, ny, nz) weights."""
        w = _array(weights, self.dtype)
        pid, *ijk = np.nonzero(w)
        plane, index = self.flat(np.stack(ijk, 1))
        return _csr(plane, self.n0, index, w[(pid, *ijk)], pid.astype(np.int64))


def _workers() -> int:
    import numba

    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _grid(medium: Medium, dtype: torch.dtype, batch: int) -> _Grid:
    workers = _workers()
    return _Grid(medium, dtype, workers if batch >= workers else 1, workers)


def _run(grid: _Grid, source_weights, inputs, probe_weights, cells: np.ndarray, record_every: int, lengths,
         threads: int | None = None, every: int | None = None):
    """Power (B, P), traces (B, T, C) and frames (B, F, n0, n1, n2) in kernel layout, as arrays.

    cells: (C, 3) non-negative indices in the caller's axes. threads and
    every override the grid's worker count and block length.
    """
    from . import fused3d_kernels as kernels

    batch, steps = inputs.shape
    dt = grid.dtype
    src_ptr, src_x, src_w, _ = grid.supports(source_weights[None])
    probes = grid.supports(probe_weights)
    plane, index = grid.flat(cells)
    tr = _csr(plane, grid.n0, index, np.arange(len(cells), dtype=np.int64))
    x = np.ascontiguousarray(_array(inputs, dt))
    limit = np.full(batch, steps, np.int64) if lengths is None else np.clip(lengths.numpy(), 0, steps)
    # Without traces or frames a sample's steps past its length change nothing returned.
    runs = limit if (len(cells) == 0 and not record_every) else np.full(batch, steps, np.int64)
    power = np.zeros((batch, probe_weights.shape[0]), dt)
    traces = np.zeros((batch, steps, len(cells)), dt)
    n_frames = len(range(0, steps, record_every)) if record_every else 0
    frames = np.zeros((batch, n_frames, grid.n0, grid.n1, grid.n2), dt)
    workers = threads or grid.workers
    m = -(-(every or grid.every) // workers) * workers
    shape = (2, grid.n0 + 2, grid.maps.shape[2])
    solo = batch - batch % workers
    shared = [(np.zeros(shape, dt), np.zeros(workers * kernels.PROGRESS_STRIDE, np.int64),
               np.zeros((2, m, power.shape[1]), dt)) for _ in range(batch - solo)]

    def sample(b: int, f, role: int, count: int, progress, terms) -> None:
        kernels.sweep(grid.maps, grid.k, f, grid.n1, grid.n2, int(runs[b]), m, role, count, progress, terms,
                      x[b], int(limit[b]), src_ptr, src_x, src_w, *probes, *tr, power[b], traces[b], frames[b],
                      record_every)

    def task(w: int) -> None:
        torch.set_flush_denormal(True)
        if w < solo:
            own, own_terms = np.empty(shape, dt), np.zeros((2, m, power.shape[1]), dt)
            no_progress = np.zeros(kernels.PROGRESS_STRIDE, np.int64)
        for b in range(w, solo, workers):
            own[:] = 0
            sample(b, own, 0, 1, no_progress, own_terms)
        for j, (f, progress, terms) in enumerate(shared):
            sample(solo + j, f, w, workers, progress, terms)

    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(task, w) for w in range(workers)]:
            done.result()
    return power, traces, frames


def _dtype_and_cpu(medium: Medium, *tensors) -> tuple[torch.dtype, bool]:
    dtype = _dtype([medium.courant, medium.damping, medium.inv_density, *tensors])
    return dtype, medium.courant.device.type == "cpu"


def simulate_fused3d(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    probe_weights: torch.Tensor,
    record_every: int = 0,
    *,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fused 3D engine with the arguments and results of :func:`designer.physics.wave.simulate`.

    medium: linear, maps (nx, ny, nz), optionally ``inv_density``.
    source_weights: (nx, ny, nz). inputs: (B, T). probe_weights: (P, nx, ny, nz).
    lengths: (B,) integers, the steps integrated into each sample's power
    (default T). Returns the time-integrated probe intensities (B, P) and, when
    ``record_every > 0``, the field every that many steps (B, ceil(T /
    record_every), nx, ny, nz), else None. Forward only: a tensor that requires
    grad under grad mode is an error. All tensors are promoted to one dtype,
    float32 or float64.
    """
    _check(medium, source_weights, inputs, probe_weights, record_every, lengths)
    dtype, on_cpu = _dtype_and_cpu(medium, source_weights, inputs, probe_weights)
    if not on_cpu:
        with torch.no_grad():
            return wave.simulate(medium, source_weights, inputs, probe_weights, record_every, lengths=lengths)
    grid = _grid(medium, dtype, inputs.shape[0])
    power, _, frames = _run(grid, source_weights.detach(), inputs.detach(), probe_weights.detach(),
                            np.zeros((0, 3), np.int64), record_every,
                            None if lengths is None else lengths.to(torch.int64))
    frames = grid.restore(torch.from_numpy(frames)).contiguous() if record_every and inputs.shape[1] else None
    return torch.from_numpy(power), frames


def simulate_traces_fused3d(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor,
                            cells: torch.Tensor) -> torch.Tensor:
    """The field u[n+1] at ``cells`` after every step, as :func:`designer.physics.wave.simulate_traces`.

    cells: (C, 3) integer indices (negative ones count from the end, as in
    torch indexing). Returns (B, T, C). Forward only, as :func:`simulate_fused3d`.
    """
    shape = tuple(medium.courant.shape)
    probe = torch.zeros((0, *shape), dtype=medium.courant.dtype, device=medium.courant.device)
    _check(medium, source_weights, inputs, probe, 0, None)
    if (cells.dim() != 2 or cells.shape[1] != 3 or cells.dtype.is_floating_point or cells.dtype.is_complex
            or cells.dtype == torch.bool):
        raise ValueError(f"`cells` must be integer indices of shape (C, 3), but got {tuple(cells.shape)} "
                         f"of dtype {cells.dtype}.")
    extent = torch.tensor(shape, device=cells.device)
    outside = ((cells < -extent) | (cells >= extent)).any(1)
    if bool(outside.any()):
        raise ValueError(f"`cells` must index the grid {shape}, but got {cells[outside][0].tolist()}.")
    dtype, on_cpu = _dtype_and_cpu(medium, source_weights, inputs)
    if not on_cpu:
        with torch.no_grad():
            return wave.simulate_traces(medium, source_weights, inputs, cells)
    grid = _grid(medium, dtype, inputs.shape[0])
    wrapped = (cells.detach().cpu().to(torch.int64) % extent.cpu()).numpy()
    _, traces, _ = _run(grid, source_weights.detach(), inputs.detach(), probe.detach(), wrapped, 0, None)
    return torch.from_numpy(traces)
