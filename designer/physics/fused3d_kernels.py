"""Numba kernels of the fused 3D forward engine: one sample's whole run, plane by plane.

Layout. Fields and maps are (n0 + 2, S) arrays, S = (n1 + 2)(n2 + 2): the grid
with one cell of padding on every side, each (n1 + 2, n2 + 2) plane flattened,
so that one plane's stencil is a single long loop that LLVM vectorises, with
neighbours at offsets +-1 and +-(n2 + 2) in the plane and at the same offset in
planes i +- 1. The padding's maps are zero (a = 0 there), so the update keeps
the padding at exactly zero without boundary branches.

Update. u[n+1] = u[n-1] + a (2 (u[n] - u[n-1]) + c^2 D u[n] + s x[n]),
a = 1 / (1 + b/2), is the reference's step (e a = 2 a - 1) with D the 7-point
Laplacian or the flux stencil div_h(f grad_h u) on precomputed faces. Two
buffers: u[n+1] overwrites u[n-1] cell by cell, each cell reading its own old
value before writing it and its neighbours only from the other buffer.

Temporal blocking (wavefront). In a block of m steps, iteration ``it`` updates
plane it - s at step t0 + s for s = 0 .. m-1, so each plane's maps and fields
serve m steps while cached and memory traffic falls m-fold. Every dependency
is kept: step t at plane p reads step t-1 at planes p-1 .. p+1 (iteration
it - 1 and, for p + 1, earlier in this iteration) and overwrites u[t-1] at p,
last read by step t-1 at plane p + 1, earlier in this iteration. Each
(step, plane) update is the same arithmetic on the same values whatever m is,
so results are bit-identical for every m.

One sample on W threads. Thread w takes steps s in [w m / W, (w + 1) m / W) of
every block, trailing thread w - 1 (it waits, at each iteration, until w - 1
has finished that iteration); thread 0 waits until thread W - 1's previous
block has reached iteration it + m. Progress counters are atomics with
acquire/release order; the arithmetic is again that of one thread.

Probe terms sum w u^2 over a step's cells in plane order into a per-step slot;
at a block's end the slots are added to the power in step order, as the
reference adds one step's term after the other. fastmath stays off: IEEE
arithmetic, reproducible runs.
"""
from __future__ import annotations

import ctypes

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["sweep", "PROGRESS_STRIDE"]

_JIT = dict(fastmath=False, error_model="numpy", nogil=True)
# The stencils index with unsigned integers: with signed ones numba's negative-index
# wraparound hides from LLVM that x - row >= 0, and the loops stay scalar.
# int64s between two threads' progress counters: one cache line (and its pair) each.
PROGRESS_STRIDE = 16
_SPINS_BEFORE_YIELD = 256

_libc = ctypes.CDLL(None)
_sched_yield = _libc.sched_yield
_sched_yield.restype = ctypes.c_int
_sched_yield.argtypes = []


def _counter_pointer(context, builder, array_type, array, index):
    ary = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, ary, [index])


@intrinsic
def _load_acquire(typingctx, counters, index):
    """counters[index] read with acquire order (int64 array)."""
    if not (isinstance(counters, types.Array) and counters.dtype == types.int64
            and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ptr = _counter_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(counters, index), codegen


@intrinsic
def _store_release(typingctx, counters, index, value):
    """counters[index] = value with release order (int64 array)."""
    if not (isinstance(counters, types.Array) and counters.dtype == types.int64
            and isinstance(index, types.Integer) and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ptr = _counter_pointer(context, builder, signature.args[0], args[0], args[1])
        v = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(v, ptr, "release", 8)
        return context.get_dummy_value()

    return types.void(counters, index, value), codegen


@njit(**_JIT)
def _wait(progress, thread, target):
    """Until thread ``thread``'s counter reaches ``target``; yields the core while it waits."""
    spins = 0
    while _load_acquire(progress, thread * PROGRESS_STRIDE) < target:
        spins += 1
        if spins >= _SPINS_BEFORE_YIELD:
            _sched_yield()


@njit(**_JIT)
def _laplacian_plane(u1, u0, maps, i, row, k):
    """u[t+1] on padded plane i, maps [c^2, a]."""
    two, six = k[0], k[1]
    row, one = np.uint64(row), np.uint64(1)
    for x in range(row, np.uint64(u1.shape[1]) - row):
        uc = u1[i, x]
        lap = u1[i - 1, x] + u1[i + 1, x] + u1[i, x - row] + u1[i, x + row] + u1[i, x - one] + u1[i, x + one] - six * uc
        v = u0[i, x]
        u0[i, x] = v + maps[1, i, x] * (two * (uc - v) + maps[0, i, x] * lap)


@njit(**_JIT)
def _divergence_plane(u1, u0, maps, i, row, k):
    """u[t+1] on padded plane i, maps [c^2, a, f0, f1, f2]; f_k: each cell's face to its lower neighbour."""
    two = k[0]
    row, one = np.uint64(row), np.uint64(1)
    for x in range(row, np.uint64(u1.shape[1]) - row):
        uc = u1[i, x]
        div = (maps[2, i + 1, x] * (u1[i + 1, x] - uc) - maps[2, i, x] * (uc - u1[i - 1, x])
               + maps[3, i, x + row] * (u1[i, x + row] - uc) - maps[3, i, x] * (uc - u1[i, x - row])
               + maps[4, i, x + one] * (u1[i, x + one] - uc) - maps[4, i, x] * (uc - u1[i, x - one]))
        v = u0[i, x]
        u0[i, x] = v + maps[1, i, x] * (two * (uc - v) + maps[0, i, x] * div)


@njit(**_JIT)
def _update(maps, f, t, i, row, k, xt, src_ptr, src_x, src_w):
    """u[t+1] on padded plane i, sources included; returns that plane."""
    u1, u0 = f[t % 2], f[(t + 1) % 2]
    if maps.shape[0] == 2:
        _laplacian_plane(u1, u0, maps, i, row, k)
    else:
        _divergence_plane(u1, u0, maps, i, row, k)
    out, a = u0[i], maps[1, i]
    for s in range(src_ptr[i], src_ptr[i + 1]):
        x = src_x[s]
        out[x] += src_w[s] * xt * a[x]
    return out


@njit(**_JIT)
def _record(out, i, t, n1, n2, slot, pr_ptr, pr_x, pr_w, pr_id, tr_ptr, tr_x, tr_col, traces, frames,
            record_every):
    for s in range(pr_ptr[i], pr_ptr[i + 1]):
        v = out[pr_x[s]]
        slot[pr_id[s]] += pr_w[s] * v * v
    for s in range(tr_ptr[i], tr_ptr[i + 1]):
        traces[t, tr_col[s]] = out[tr_x[s]]
    if record_every > 0 and t % record_every == 0:
        frames[t // record_every, i - 1] = out.reshape((n1 + 2, n2 + 2))[1:-1, 1:-1]


@njit(**_JIT)
def sweep(maps, k, f, n1, n2, steps, every, role, workers, progress, terms, x, length,
          src_ptr, src_x, src_w, pr_ptr, pr_x, pr_w, pr_id, tr_ptr, tr_x, tr_col,
          power, traces, frames, record_every):
    """Run one sample's first ``steps`` steps as thread ``role`` of ``workers``.

    maps (M, n0+2, S), f (2, n0+2, S): the padded maps and the two field
    buffers (zero on entry). k = (2, 6) in the working dtype. every: m, the
    block length, a multiple of ``workers``. progress: int64 counters shared by
    the sample's threads; terms (2, m, P): per-step probe terms, zero on entry.
    x (T,): the sample's input. Only steps n < ``length`` enter ``power`` (P,).
    Sparse supports are CSR over padded planes (``*_ptr`` of n0 + 3 entries)
    with in-plane flat indices: sources (index, weight), probes (index,
    weight, probe), trace cells (index, column of ``traces`` (T, C)). frames
    (F, n0, n1, n2): u[n+1] for n = 0, r, 2r, ... with r = ``record_every`` > 0.
    """
    n0, row = f.shape[1] - 2, n2 + 2
    iterations = n0 + every - 1
    lo, hi = role * every // workers, (role + 1) * every // workers
    for block in range(-(-steps // every)):
        t0 = block * every
        slots = terms[block % 2]
        for it in range(1, iterations + 1):
            if workers > 1:
                if role > 0:
                    _wait(progress, role - 1, block * iterations + it)
                elif block > 0:
                    _wait(progress, workers - 1, (block - 1) * iterations + min(it + every, iterations))
            for s in range(lo, hi):
                i, t = it - s, t0 + s
                if 1 <= i <= n0 and t < steps:
                    out = _update(maps, f, t, i, row, k, x[t], src_ptr, src_x, src_w)
                    _record(out, i, t, n1, n2, slots[s], pr_ptr, pr_x, pr_w, pr_id, tr_ptr, tr_x, tr_col,
                            traces, frames, record_every)
            if workers > 1:
                _store_release(progress, role * PROGRESS_STRIDE, block * iterations + it)
        if role == workers - 1:
            for s in range(min(every, steps - t0)):
                if t0 + s < length:
                    power += slots[s]
            slots[:] = 0
