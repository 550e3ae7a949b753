"""Numba kernels of the fused engine: time steps and their adjoints, per sample.

Each worker takes whole batch samples and runs all of a sample's steps before
the next, so the sample's fields (64 KB each at 160 x 100 float32) stay in its
core's L2 cache. Fields carry one zero cell of padding on every side, so the
5-point stencil needs no boundary branches, and three buffers rotate (no field
is written while it is read), which keeps the inner loops free of aliasing and
lets LLVM vectorise them.

Map stacks: linear ``maps = [courant^2, 1/(1+b/2), 1-b/2]``; nonlinear
``maps = [courant, damping, kerr, saturable]``, absent terms as zeros. ``k`` is
``(1/2, 1, 2, 4)`` in the working dtype, so that float32 stays float32.
An optional output is skipped when its array has zero length in its first axis.
The equations are in :mod:`designer.physics.fused`.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["forward", "backward"]


@njit(fastmath=False, cache=True, inline="always")
def _linear_step(u1, u0, out, c2, a, e, k):
    two, four = k[2], k[3]
    for i in range(u1.shape[0] - 2):
        for j in range(u1.shape[1] - 2):
            uc = u1[i + 1, j + 1]
            lap = -four * uc + u1[i, j + 1] + u1[i + 2, j + 1] + u1[i + 1, j] + u1[i + 1, j + 2]
            out[i + 1, j + 1] = (two * uc - e[i + 1, j + 1] * u0[i + 1, j + 1]
                                 + c2[i + 1, j + 1] * lap) * a[i + 1, j + 1]


@njit(fastmath=False, cache=True, inline="always")
def _nonlinear_step(u1, u0, out, courant, damping, kerr, saturable, inv_a2, k):
    half, one, two, four = k
    for i in range(u1.shape[0] - 2):
        for j in range(u1.shape[1] - 2):
            uc = u1[i + 1, j + 1]
            uu = uc * uc
            c = courant[i + 1, j + 1] + kerr[i + 1, j + 1] * uu
            hb = half * (damping[i + 1, j + 1] + saturable[i + 1, j + 1] / (one + uu * inv_a2))
            lap = -four * uc + u1[i, j + 1] + u1[i + 2, j + 1] + u1[i + 1, j] + u1[i + 1, j + 2]
            out[i + 1, j + 1] = (two * uc - (one - hb) * u0[i + 1, j + 1] + c * c * lap) / (one + hb)


@njit(fastmath=False, cache=True, inline="always")
def _gain(nonlinear, maps, u, i, j, inv_a2, k):
    """1 / (1 + b/2) at padded cell (i, j), b seen by field ``u``."""
    if not nonlinear:
        return maps[1, i, j]
    half, one = k[0], k[1]
    uu = u[i, j] * u[i, j]
    return one / (one + half * (maps[1, i, j] + maps[3, i, j] / (one + uu * inv_a2)))


@njit(fastmath=False, cache=True, inline="always")
def _advance(nonlinear, maps, inv_a2, k, u1, u0, out, xn, src_i, src_j, src_w):
    """u[n+1] into ``out`` from u[n] = ``u1`` and u[n-1] = ``u0``, source included."""
    if nonlinear:
        _nonlinear_step(u1, u0, out, maps[0], maps[1], maps[2], maps[3], inv_a2, k)
    else:
        _linear_step(u1, u0, out, maps[0], maps[1], maps[2], k)
    for s in range(src_i.shape[0]):
        i, j = src_i[s] + 1, src_j[s] + 1
        out[i, j] += src_w[s] * xn * _gain(nonlinear, maps, u1, i, j, inv_a2, k)


@njit(parallel=True, fastmath=False, cache=True)
def forward(nonlinear, maps, inv_a2, k, x, src_i, src_j, src_w, pr_i, pr_j, pr_w, pr_id,
            power, ckpt, every, frames, record_every, workers):
    """Run every sample; fill ``power`` (B, P), checkpoints and frames.

    ckpt (B, C, 2, nx, ny): (u[jK-1], u[jK]) for j = 1..C with K = ``every``.
    frames (B, F, nx, ny): u[n+1] for n = 0, r, 2r, ... with r = ``record_every``.
    """
    batch, steps = x.shape
    nx, ny = maps.shape[1] - 2, maps.shape[2] - 2
    for w in prange(workers):
        f = np.zeros((3, nx + 2, ny + 2), maps.dtype)
        acc = np.zeros(power.shape[1], maps.dtype)
        for b in range(w, batch, workers):
            f[:] = 0
            for n in range(steps):
                out = f[(n + 1) % 3]
                u1 = f[n % 3]
                _advance(nonlinear, maps, inv_a2, k, u1, f[(n + 2) % 3], out, x[b, n], src_i, src_j, src_w)
                acc[:] = 0
                for s in range(pr_i.shape[0]):
                    v = out[pr_i[s] + 1, pr_j[s] + 1]
                    acc[pr_id[s]] += pr_w[s] * v * v
                power[b] += acc
                c = (n + 1) // every - 1
                if (n + 1) % every == 0 and c < ckpt.shape[1]:
                    ckpt[b, c, 0] = u1[1:-1, 1:-1]
                    ckpt[b, c, 1] = out[1:-1, 1:-1]
                if record_every > 0 and n % record_every == 0:
                    frames[b, n // record_every] = out[1:-1, 1:-1]


@njit(fastmath=False, cache=True, inline="always")
def _add_laplacian_row(mu, v, i, four):
    """mu += L v on padded row i."""
    for j in range(1, mu.shape[1] - 1):
        mu[i, j] += -four * v[i, j] + v[i - 1, j] + v[i + 1, j] + v[i, j - 1] + v[i, j + 1]


@njit(fastmath=False, cache=True, inline="always")
def _linear_adjoint(b, mu, carry, v, row, um1, un, up1, c2, a, e, xn, k, g_c, g_d, g_s):
    """One adjoint step, linear maps: mu = lambda[n+1] -> lambda[n] (probes excluded).

    Accumulates sum(mu * L u[n]), sum(mu * (u[n-1] - u[n+1])) and sum(x[n] mu);
    the caller scales them by 2 c a, a/2 and a.
    """
    two, four = k[2], k[3]
    ny = mu.shape[1] - 2
    for i in range(1, mu.shape[0] - 1):
        for j in range(1, ny + 1):
            m = mu[i, j]
            row[j] = m
            am = a[i, j] * m
            v[i, j] = c2[i, j] * am
            mu[i, j] = two * am - carry[i, j]
            carry[i, j] = e[i, j] * am
        if g_c.shape[0]:
            for j in range(1, ny + 1):
                lap = -four * un[i, j] + un[i - 1, j] + un[i + 1, j] + un[i, j - 1] + un[i, j + 1]
                g_c[b, i, j] += row[j] * lap
        if g_d.shape[0]:
            for j in range(1, ny + 1):
                g_d[b, i, j] += row[j] * (um1[i, j] - up1[i, j])
        if g_s.shape[0]:
            for j in range(1, ny + 1):
                g_s[b, i, j] += xn * row[j]
        if i > 1:
            _add_laplacian_row(mu, v, i - 1, four)
    _add_laplacian_row(mu, v, mu.shape[0] - 2, four)


@njit(fastmath=False, cache=True, inline="always")
def _nonlinear_adjoint(b, mu, carry, v, rows, um1, un, up1, courant, damping, kerr, saturable,
                       inv_a2, xn, k, g_c, g_d, g_k, g_sat, g_s):
    """One adjoint step with field-dependent maps: mu = lambda[n+1] -> lambda[n].

    rows: (5, ny + 2) scratch holding, per row, d/dc, d/db, u^2, the
    saturation factor and a * mu.
    """
    half, one, two, four = k
    ny = mu.shape[1] - 2
    kap, bet, uu_row, sat_row, am_row = rows[0], rows[1], rows[2], rows[3], rows[4]
    for i in range(1, mu.shape[0] - 1):
        for j in range(1, ny + 1):
            uc = un[i, j]
            uu = uc * uc
            g = one / (one + uu * inv_a2)
            c = courant[i, j] + kerr[i, j] * uu
            hb = half * (damping[i, j] + saturable[i, j] * g)
            am = mu[i, j] / (one + hb)
            lap = -four * uc + un[i - 1, j] + un[i + 1, j] + un[i, j - 1] + un[i, j + 1]
            dc = two * c * am * lap
            db = half * am * (um1[i, j] - up1[i, j])
            v[i, j] = c * c * am
            local = dc * two * kerr[i, j] * uc - db * saturable[i, j] * two * uc * inv_a2 * g * g
            mu[i, j] = two * am + local - carry[i, j]
            carry[i, j] = (one - hb) * am
            kap[j] = dc
            bet[j] = db
            uu_row[j] = uu
            sat_row[j] = g
            am_row[j] = am
        if g_c.shape[0]:
            for j in range(1, ny + 1):
                g_c[b, i, j] += kap[j]
        if g_k.shape[0]:
            for j in range(1, ny + 1):
                g_k[b, i, j] += kap[j] * uu_row[j]
        if g_d.shape[0]:
            for j in range(1, ny + 1):
                g_d[b, i, j] += bet[j]
        if g_sat.shape[0]:
            for j in range(1, ny + 1):
                g_sat[b, i, j] += bet[j] * sat_row[j]
        if g_s.shape[0]:
            for j in range(1, ny + 1):
                g_s[b, i, j] += xn * am_row[j]
        if i > 1:
            _add_laplacian_row(mu, v, i - 1, four)
    _add_laplacian_row(mu, v, mu.shape[0] - 2, four)


@njit(fastmath=False, cache=True, inline="always")
def _add_square(q, u):
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            q[i, j] += u[i, j] * u[i, j]


@njit(fastmath=False, cache=True, inline="always")
def _add_probe_adjoint(mu, u, gp, pr_i, pr_j, pr_w, pr_id, two):
    """mu += d(power)/du for field u: 2 u sum_p grad_power[p] w_p, on the probes' cells."""
    for s in range(pr_i.shape[0]):
        i, j = pr_i[s] + 1, pr_j[s] + 1
        mu[i, j] += two * gp[pr_id[s]] * pr_w[s] * u[i, j]


@njit(parallel=True, fastmath=False, cache=True)
def backward(nonlinear, maps, inv_a2, k, x, src_i, src_j, src_w, pr_i, pr_j, pr_w, pr_id,
             grad_power, ckpt, every, workers, g_c, g_d, g_k, g_sat, g_s, g_x, q):
    """Adjoint sweep of every sample, segment by segment from its checkpoints.

    Per-sample outputs (B, nx+2, ny+2), padded: g_c, g_d, g_k, g_sat, g_s (see
    the adjoint steps for what the linear ones hold) and q = sum_n u[n]^2;
    g_x (B, T) is d(loss)/d(inputs).
    """
    batch, steps = x.shape
    nx, ny = maps.shape[1] - 2, maps.shape[2] - 2
    n_seg = max(1, -(-steps // every))
    two, four = k[2], k[3]
    for w in prange(workers):
        seg = np.zeros((every + 2, nx + 2, ny + 2), maps.dtype)
        mu = np.zeros((nx + 2, ny + 2), maps.dtype)
        carry = np.zeros_like(mu)
        v = np.zeros_like(mu)
        rows = np.zeros((5, ny + 2), maps.dtype)
        for b in range(w, batch, workers):
            mu[:] = 0
            carry[:] = 0
            for sg in range(n_seg - 1, -1, -1):
                start, stop = sg * every, min(sg * every + every, steps)
                if sg == 0:
                    seg[0] = 0
                    seg[1] = 0
                else:
                    seg[0, 1:-1, 1:-1] = ckpt[b, sg - 1, 0]
                    seg[1, 1:-1, 1:-1] = ckpt[b, sg - 1, 1]
                for n in range(start, stop):
                    m = n - start
                    _advance(nonlinear, maps, inv_a2, k, seg[m + 1], seg[m], seg[m + 2], x[b, n],
                             src_i, src_j, src_w)
                    if q.shape[0]:
                        _add_square(q[b], seg[m + 2])
                if sg == n_seg - 1:
                    _add_probe_adjoint(mu, seg[stop - start + 1], grad_power[b], pr_i, pr_j, pr_w, pr_id, two)
                for n in range(stop - 1, start - 1, -1):
                    m = n - start
                    um1, un, up1 = seg[m], seg[m + 1], seg[m + 2]
                    if g_x.shape[0]:
                        acc = 0.0
                        for s in range(src_i.shape[0]):
                            i, j = src_i[s] + 1, src_j[s] + 1
                            acc += src_w[s] * _gain(nonlinear, maps, un, i, j, inv_a2, k) * mu[i, j]
                        g_x[b, n] = acc
                    if nonlinear:
                        _nonlinear_adjoint(b, mu, carry, v, rows, um1, un, up1, maps[0], maps[1], maps[2],
                                           maps[3], inv_a2, x[b, n], k, g_c, g_d, g_k, g_sat, g_s)
                    else:
                        _linear_adjoint(b, mu, carry, v, rows[0], um1, un, up1, maps[0], maps[1], maps[2],
                                        x[b, n], k, g_c, g_d, g_s)
                    _add_probe_adjoint(mu, un, grad_power[b], pr_i, pr_j, pr_w, pr_id, two)
