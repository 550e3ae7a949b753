"""Numba kernels of the fused engine: time steps and their adjoints, per sample.

Each worker takes whole batch samples and runs all of a sample's steps before
the next, so the sample's fields (64 KB each at 160 x 100 float32) stay in its
core's L2 cache. Fields carry one zero cell of padding on every side, so the
5-point stencil needs no boundary branches, and three buffers rotate (no field
is written while it is read), which keeps the inner loops free of aliasing and
lets LLVM vectorise them.

The update is written u[n+1] = u[n-1] + a (2 (u[n] - u[n-1]) + c^2 L u[n]),
a = 1 / (1 + b/2), which is the reference's update (e a = 2 a - 1) with one map
fewer. Map stacks: linear ``maps = [courant^2, a]``; nonlinear ``maps =
[courant, kerr, 1 + damping/2, saturable/2]``, absent terms as zeros, so that
with d = 1 + u^2/A^2, a = d / (d (1 + damping/2) + saturable/2): one division.
Density media (linear) add ``faces`` (2, nx+2, ny+2): faces[0, i, j] is the
coefficient of the face between padded cells (i-1, j) and (i, j), faces[1, i, j]
that between (i, j-1) and (i, j); c^2 L becomes c^2 div(f grad). Without
density ``faces`` has zero length.
``k`` is ``(1/2, 1, 2, 4)`` in the working dtype, so that float32 stays float32.
An optional output is skipped when its array has zero length in its first axis.
``lengths`` (B,) are the steps integrated into each sample's power: a sample
stops stepping there unless frames or traces are recorded, and its adjoint
starts there. Traced cells ``tr_i, tr_j`` record u[n+1] after every step n.
The equations are in :mod:`designer.physics.fused`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["forward", "backward"]

# fastmath off: IEEE arithmetic, so a segment replayed in the backward pass
# reproduces the forward pass bit for bit. The numpy error model lets LLVM
# vectorise divisions (no ZeroDivisionError branch).
_JIT = dict(fastmath=False, cache=True, error_model="numpy")


@njit(**_JIT)
def _linear_step(u1, u0, out, c2, a, k):
    two, four = k[2], k[3]
    for i in range(u1.shape[0] - 2):
        for j in range(u1.shape[1] - 2):
            uc = u1[i + 1, j + 1]
            lap = -four * uc + u1[i, j + 1] + u1[i + 2, j + 1] + u1[i + 1, j] + u1[i + 1, j + 2]
            u = u0[i + 1, j + 1]
            out[i + 1, j + 1] = u + a[i + 1, j + 1] * (two * (uc - u) + c2[i + 1, j + 1] * lap)


@njit(**_JIT)
def _nonlinear_step(u1, u0, out, courant, kerr, damping_term, saturable_term, inv_a2, k):
    one, two, four = k[1], k[2], k[3]
    for i in range(u1.shape[0] - 2):
        for j in range(u1.shape[1] - 2):
            uc = u1[i + 1, j + 1]
            uu = uc * uc
            c = courant[i + 1, j + 1] + kerr[i + 1, j + 1] * uu
            d = one + uu * inv_a2
            a = d / (d * damping_term[i + 1, j + 1] + saturable_term[i + 1, j + 1])
            lap = -four * uc + u1[i, j + 1] + u1[i + 2, j + 1] + u1[i + 1, j] + u1[i + 1, j + 2]
            u = u0[i + 1, j + 1]
            out[i + 1, j + 1] = u + a * (two * (uc - u) + c * c * lap)


@njit(**_JIT)
def _density_step(u1, u0, out, c2, a, fx, fy, k):
    two = k[2]
    for i in range(1, u1.shape[0] - 1):
        for j in range(1, u1.shape[1] - 1):
            uc = u1[i, j]
            div = (fx[i + 1, j] * (u1[i + 1, j] - uc) - fx[i, j] * (uc - u1[i - 1, j])
                   + fy[i, j + 1] * (u1[i, j + 1] - uc) - fy[i, j] * (uc - u1[i, j - 1]))
            u = u0[i, j]
            out[i, j] = u + a[i, j] * (two * (uc - u) + c2[i, j] * div)


@njit(**_JIT)
def _gain(nonlinear, maps, u, i, j, inv_a2, k):
    """a = 1 / (1 + b/2) at padded cell (i, j), b seen by field ``u``."""
    if not nonlinear:
        return maps[1, i, j]
    d = k[1] + u[i, j] * u[i, j] * inv_a2
    return d / (d * maps[2, i, j] + maps[3, i, j])


@njit(**_JIT)
def _advance(nonlinear, maps, faces, inv_a2, k, u1, u0, out, xn, src_i, src_j, src_w):
    """u[n+1] into ``out`` from u[n] = ``u1`` and u[n-1] = ``u0``, source included."""
    if nonlinear:
        _nonlinear_step(u1, u0, out, maps[0], maps[1], maps[2], maps[3], inv_a2, k)
    elif faces.shape[0]:
        _density_step(u1, u0, out, maps[0], maps[1], faces[0], faces[1], k)
    else:
        _linear_step(u1, u0, out, maps[0], maps[1], k)
    for s in range(src_i.shape[0]):
        i, j = src_i[s] + 1, src_j[s] + 1
        out[i, j] += src_w[s] * xn * _gain(nonlinear, maps, u1, i, j, inv_a2, k)


@njit(nogil=True, **_JIT)
def forward(nonlinear, maps, faces, inv_a2, k, x, src_i, src_j, src_w, pr_i, pr_j, pr_w, pr_id, tr_i, tr_j,
            lengths, power, ckpt, every, frames, record_every, traces, first, stride):
    """Run samples first, first + stride, ...; fill their ``power`` (B, P), checkpoints, frames and traces.

    ckpt (B, C, 2, nx, ny): (u[jK-1], u[jK]) for j = 1..C with K = ``every``.
    frames (B, F, nx, ny): u[n+1] for n = 0, r, 2r, ... with r = ``record_every``.
    traces (B, T, C): u[n+1] at the traced cells.
    """
    batch, steps = x.shape
    nx, ny = maps.shape[1] - 2, maps.shape[2] - 2
    f = np.zeros((3, nx + 2, ny + 2), maps.dtype)
    acc = np.zeros(power.shape[1], maps.dtype)
    for b in range(first, batch, stride):
        f[:] = 0
        stop = steps if record_every > 0 or traces.shape[0] else lengths[b]
        for n in range(stop):
            out = f[(n + 1) % 3]
            u1 = f[n % 3]
            _advance(nonlinear, maps, faces, inv_a2, k, u1, f[(n + 2) % 3], out, x[b, n], src_i, src_j, src_w)
            if n < lengths[b]:
                acc[:] = 0
                for s in range(pr_i.shape[0]):
                    v = out[pr_i[s] + 1, pr_j[s] + 1]
                    acc[pr_id[s]] += pr_w[s] * v * v
                power[b] += acc
            for s in range(tr_i.shape[0] if traces.shape[0] else 0):
                traces[b, n, s] = out[tr_i[s] + 1, tr_j[s] + 1]
            c = (n + 1) // every - 1
            if (n + 1) % every == 0 and c < ckpt.shape[1]:
                ckpt[b, c, 0] = u1[1:-1, 1:-1]
                ckpt[b, c, 1] = out[1:-1, 1:-1]
            if record_every > 0 and n % record_every == 0:
                frames[b, n // record_every] = out[1:-1, 1:-1]


@njit(**_JIT)
def _add_laplacian_row(mu, v, i, four):
    """mu += L v on padded row i."""
    for j in range(1, mu.shape[1] - 1):
        mu[i, j] += -four * v[i, j] + v[i - 1, j] + v[i + 1, j] + v[i, j - 1] + v[i, j + 1]


@njit(**_JIT)
def _linear_adjoint(b, nu1, nu0, out, um1, un, up1, c2, a, xn, k, g_c, g_d, g_s):
    """nu[n] = a lambda[n] into ``out`` from nu[n+1], nu[n+2] (probes excluded).

    The same leapfrog as the forward step, with c^2 inside the Laplacian:
    nu[n] = nu[n+2] + a (2 (nu[n+1] - nu[n+2]) + L(c^2 nu[n+1])). Accumulates
    sum(nu[n+1] L u[n]), sum(nu[n+1] (u[n-1] - u[n+1])) and sum(x[n] nu[n+1]).
    """
    two, four = k[2], k[3]
    ny = out.shape[1] - 2
    for i in range(1, out.shape[0] - 1):
        if g_c.shape[0]:
            for j in range(1, ny + 1):
                lap = -four * un[i, j] + un[i - 1, j] + un[i + 1, j] + un[i, j - 1] + un[i, j + 1]
                g_c[b, i, j] += nu1[i, j] * lap
        if g_d.shape[0]:
            for j in range(1, ny + 1):
                g_d[b, i, j] += nu1[i, j] * (um1[i, j] - up1[i, j])
        if g_s.shape[0]:
            for j in range(1, ny + 1):
                g_s[b, i, j] += xn * nu1[i, j]
        for j in range(1, ny + 1):
            lap = (-four * (c2[i, j] * nu1[i, j]) + c2[i - 1, j] * nu1[i - 1, j] + c2[i + 1, j] * nu1[i + 1, j]
                   + c2[i, j - 1] * nu1[i, j - 1] + c2[i, j + 1] * nu1[i, j + 1])
            v = nu0[i, j]
            out[i, j] = v + a[i, j] * (two * (nu1[i, j] - v) + lap)


@njit(**_JIT)
def _density_adjoint(b, nu1, nu0, out, w, um1, un, up1, c2, a, fx, fy, xn, k, gc, gfx, gfy, g_d, g_s):
    """The linear adjoint with the divergence form: nu[n] = nu[n+2] + a (2 (nu[n+1] - nu[n+2]) + M w),
    w = c^2 nu[n+1] (the scratch ``w``, filled a row ahead), M = div(f grad).

    Accumulates sum(nu[n+1] M u[n]) into gc, -sum(grad w grad u[n]) per face into
    gfx, gfy (laid out as ``faces``), all three always (the caller passes scratch
    when it does not want them: one pass over the rows is the fast path), and
    sum(nu[n+1] (u[n-1] - u[n+1])), sum(x[n] nu[n+1]) into g_d[b], g_s[b] when asked.
    """
    two = k[2]
    nx, ny = out.shape[0] - 2, out.shape[1] - 2
    for j in range(ny + 2):
        w[0, j] = c2[0, j] * nu1[0, j]
        w[1, j] = c2[1, j] * nu1[1, j]
    for i in range(1, nx + 1):
        for j in range(ny + 2):
            w[i + 1, j] = c2[i + 1, j] * nu1[i + 1, j]
        if g_d.shape[0]:
            for j in range(1, ny + 1):
                g_d[b, i, j] += nu1[i, j] * (um1[i, j] - up1[i, j])
        if g_s.shape[0]:
            for j in range(1, ny + 1):
                g_s[b, i, j] += xn * nu1[i, j]
        for j in range(1, ny + 1):
            uc, wc = un[i, j], w[i, j]
            ux0, ux1, uy0, uy1 = uc - un[i - 1, j], un[i + 1, j] - uc, uc - un[i, j - 1], un[i, j + 1] - uc
            wx0, wx1, wy0, wy1 = wc - w[i - 1, j], w[i + 1, j] - wc, wc - w[i, j - 1], w[i, j + 1] - wc
            f0, f1, f2, f3 = fx[i, j], fx[i + 1, j], fy[i, j], fy[i, j + 1]
            gc[i, j] += nu1[i, j] * (f1 * ux1 - f0 * ux0 + f3 * uy1 - f2 * uy0)
            gfx[i, j] -= wx0 * ux0
            gfy[i, j] -= wy0 * uy0
            v = nu0[i, j]
            out[i, j] = v + a[i, j] * (two * (nu1[i, j] - v) + (f1 * wx1 - f0 * wx0 + f3 * wy1 - f2 * wy0))
        # The last face of the row and the last row of faces: the ghost cell beyond is zero.
        gfy[i, ny + 1] -= w[i, ny] * un[i, ny]
    for j in range(1, ny + 1):
        gfx[nx + 1, j] -= w[nx, j] * un[nx, j]


@njit(**_JIT)
def _nonlinear_cell(mu, carry, v, um1, un, up1, courant, kerr, damping_term, saturable_term, inv_a2, i, j, k):
    """One cell of the nonlinear adjoint step; returns d/dc, d/db, u^2, saturation factor, a mu."""
    half, one, two, four = k
    uc = un[i, j]
    uu = uc * uc
    g = one / (one + uu * inv_a2)
    one_hb = damping_term[i, j] + saturable_term[i, j] * g
    am = mu[i, j] / one_hb
    c = courant[i, j] + kerr[i, j] * uu
    lap = -four * uc + un[i - 1, j] + un[i + 1, j] + un[i, j - 1] + un[i, j + 1]
    dc = two * c * am * lap
    db = half * am * (um1[i, j] - up1[i, j])
    v[i, j] = c * c * am
    local = two * uc * (dc * kerr[i, j] - two * db * saturable_term[i, j] * inv_a2 * g * g)
    mu[i, j] = two * am + local - carry[i, j]
    carry[i, j] = (two - one_hb) * am
    return dc, db, uu, g, am


@njit(**_JIT)
def _nonlinear_adjoint(b, mu, carry, v, rows, um1, un, up1, courant, kerr, damping_term, saturable_term,
                       inv_a2, xn, k, g_c, g_d, g_k, g_sat, g_s):
    """lambda[n] into ``mu`` from mu = lambda[n+1] with field-dependent maps (probes excluded).

    carry holds e a lambda[n+2] on entry and e a lambda[n+1] on exit; rows is
    (5, ny + 2) scratch for one row's d/dc, d/db, u^2, saturation factor and a mu.
    A design's gradients (courant, kerr, saturable, nothing else) accumulate
    in the cell loop itself; any other request goes through the row scratch.
    """
    four = k[3]
    ny = mu.shape[1] - 2
    design_only = g_c.shape[0] and g_k.shape[0] and g_sat.shape[0] and not (g_d.shape[0] or g_s.shape[0])
    for i in range(1, mu.shape[0] - 1):
        if design_only:
            gc, gk, gsat = g_c[b], g_k[b], g_sat[b]
            for j in range(1, ny + 1):
                dc, db, uu, g, am = _nonlinear_cell(mu, carry, v, um1, un, up1, courant, kerr, damping_term,
                                                    saturable_term, inv_a2, i, j, k)
                gc[i, j] += dc
                gk[i, j] += dc * uu
                gsat[i, j] += db * g
        else:
            for j in range(1, ny + 1):
                dc, db, uu, g, am = _nonlinear_cell(mu, carry, v, um1, un, up1, courant, kerr, damping_term,
                                                    saturable_term, inv_a2, i, j, k)
                rows[0, j] = dc
                rows[1, j] = db
                rows[2, j] = uu
                rows[3, j] = g
                rows[4, j] = am
            _add_rows(b, i, rows, xn, g_c, g_d, g_k, g_sat, g_s)
        if i > 1:
            _add_laplacian_row(mu, v, i - 1, four)
    _add_laplacian_row(mu, v, mu.shape[0] - 2, four)


@njit(**_JIT)
def _add_rows(b, i, rows, xn, g_c, g_d, g_k, g_sat, g_s):
    """Accumulate one row's requested nonlinear gradients from the row scratch."""
    ny = rows.shape[1] - 2
    if g_c.shape[0]:
        for j in range(1, ny + 1):
            g_c[b, i, j] += rows[0, j]
    if g_k.shape[0]:
        for j in range(1, ny + 1):
            g_k[b, i, j] += rows[0, j] * rows[2, j]
    if g_d.shape[0]:
        for j in range(1, ny + 1):
            g_d[b, i, j] += rows[1, j]
    if g_sat.shape[0]:
        for j in range(1, ny + 1):
            g_sat[b, i, j] += rows[1, j] * rows[3, j]
    if g_s.shape[0]:
        for j in range(1, ny + 1):
            g_s[b, i, j] += xn * rows[4, j]


@njit(**_JIT)
def _add_square(q, u):
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            q[i, j] += u[i, j] * u[i, j]


@njit(**_JIT)
def _add_probe_adjoint(lam, u, gp, pr_i, pr_j, pr_w, pr_id, two):
    """lam += 2 u sum_p grad_power[p] w_p on the probes' cells (w already scaled by a if linear)."""
    for s in range(pr_i.shape[0]):
        i, j = pr_i[s] + 1, pr_j[s] + 1
        lam[i, j] += two * gp[pr_id[s]] * pr_w[s] * u[i, j]


@njit(**_JIT)
def _add_trace_adjoint(lam, b, m, tr_i, tr_j, tr_w, grad_traces):
    """lam += dloss/du[m] from the traces, d(traces[:, m-1])'s gradient at the traced cells
    (times a if linear); u[0] is not traced."""
    if grad_traces.shape[0] and m >= 1:
        for s in range(tr_i.shape[0]):
            lam[tr_i[s] + 1, tr_j[s] + 1] += tr_w[s] * grad_traces[b, m - 1, s]


@njit(nogil=True, **_JIT)
def backward(nonlinear, maps, faces, inv_a2, k, x, src_i, src_j, src_w, pr_i, pr_j, pr_w, pr_id, tr_i, tr_j,
             lengths, adj_w, tr_w, grad_power, grad_traces, ckpt, every, first, stride,
             g_c, g_d, g_k, g_sat, g_f, g_s, g_x, q):
    """Adjoint sweep of samples first, first + stride, ..., segment by segment from their checkpoints.

    adj_w, tr_w: probe weights and trace scales as the adjoint adds them (a if
    linear, else 1). Per-sample outputs (B, nx+2, ny+2), padded: g_c, g_d,
    g_k, g_sat, g_s (the linear ones are the sums named in
    :func:`_linear_adjoint`), g_f (B, 2, nx+2, ny+2) and q = sum_n u[n]^2;
    g_x (B, T) is d(loss)/d(inputs). Sample b's sweep starts at its length.
    """
    nx, ny = maps.shape[1] - 2, maps.shape[2] - 2
    two = k[2]
    seg = np.zeros((every + 2, nx + 2, ny + 2), maps.dtype)
    lam = np.zeros((3, nx + 2, ny + 2), maps.dtype)
    w = np.zeros((nx + 2, ny + 2), maps.dtype)
    rows = np.zeros((5, ny + 2), maps.dtype)
    # Where the courant or face sums are not wanted, the density adjoint writes them here.
    scratch = np.zeros((3 if faces.shape[0] else 0, nx + 2, ny + 2), maps.dtype)
    for b in range(first, x.shape[0], stride):
        steps = lengths[b]
        n_seg = -(-steps // every)
        lam[:] = 0
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
                _advance(nonlinear, maps, faces, inv_a2, k, seg[m + 1], seg[m], seg[m + 2], x[b, n],
                         src_i, src_j, src_w)
            if sg == n_seg - 1:
                top = lam[0] if nonlinear else lam[steps % 3]
                _add_probe_adjoint(top, seg[stop - start + 1], grad_power[b], pr_i, pr_j, adj_w, pr_id, two)
                _add_trace_adjoint(top, b, steps, tr_i, tr_j, tr_w, grad_traces)
            for n in range(stop - 1, start - 1, -1):
                m = n - start
                um1, un, up1 = seg[m], seg[m + 1], seg[m + 2]
                if q.shape[0]:
                    _add_square(q[b], up1)
                # lambda[n+1] (nonlinear) or nu[n+1] (linear): what the source sees.
                late = lam[0] if nonlinear else lam[(n + 1) % 3]
                if g_x.shape[0]:
                    acc = 0.0
                    for s in range(src_i.shape[0]):
                        i, j = src_i[s] + 1, src_j[s] + 1
                        gain = _gain(nonlinear, maps, un, i, j, inv_a2, k) if nonlinear else 1.0
                        acc += src_w[s] * gain * late[i, j]
                    g_x[b, n] = acc
                if nonlinear:
                    out = lam[0]
                    _nonlinear_adjoint(b, out, lam[1], lam[2], rows, um1, un, up1, maps[0], maps[1],
                                       maps[2], maps[3], inv_a2, x[b, n], k, g_c, g_d, g_k, g_sat, g_s)
                elif faces.shape[0]:
                    out = lam[n % 3]
                    gc = g_c[b] if g_c.shape[0] else scratch[0]
                    gfx, gfy = (g_f[b, 0], g_f[b, 1]) if g_f.shape[0] else (scratch[1], scratch[2])
                    _density_adjoint(b, late, lam[(n + 2) % 3], out, w, um1, un, up1, maps[0], maps[1],
                                     faces[0], faces[1], x[b, n], k, gc, gfx, gfy, g_d, g_s)
                else:
                    out = lam[n % 3]
                    _linear_adjoint(b, late, lam[(n + 2) % 3], out, um1, un, up1, maps[0], maps[1],
                                    x[b, n], k, g_c, g_d, g_s)
                _add_probe_adjoint(out, un, grad_power[b], pr_i, pr_j, adj_w, pr_id, two)
                _add_trace_adjoint(out, b, n, tr_i, tr_j, tr_w, grad_traces)
