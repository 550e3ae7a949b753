"""Frequency-domain engine: one sparse solve per frequency, exact per frequency, gradients by the adjoint.

At each frequency k the field U_k (nx, ny) solves, in cell units,

    div_h(F_k grad_h U_k) + mass_k * U_k = -source_k,

with F_k the face coefficients (1 everywhere: the 5-point Laplacian of
:mod:`designer.physics.wave`, zero field outside the grid; or the
stretched-coordinate PML's s_y / s_x and s_x / s_y, Berenger 1994, Chew &
Weedon 1994, in the symmetric form of Rappaport 1995; for the H_z form the
harmonic means of 1 / eps times those factors) and ``mass_k`` the medium's
term, e.g. (omega h / c)^2 eps(omega, x) s_x s_y for the Helmholtz equation
(:mod:`designer.physics.models.slab` builds both). Dispersion and loss enter
through eps(omega, x), exact at every frequency: there is no time step.

For a linear, time-invariant medium driven by x(t), the time-integrated
intensity at a cell is, by Parseval, sum_k w_k |U_k|^2 |X(omega_k)|^2 (the
whole ring-down included): :func:`spectral_power` takes the per-sample
weights w_k |X(omega_k)|^2 from the drive chain (:mod:`designer.drive`).

Adjoint. With A_k U_k = -s and a loss L = sum_c g_c |U_c|^2 (g real), dL =
-2 Re(lambda^T dA U), lambda = A^{-T} (g conj(U)) at the probe cells; for the
diagonal ``mass`` this gives dL/dRe(mass) + i dL/dIm(mass) = -2 conj(lambda U),
the complex gradient torch expects, and for a face 2 conj((D lambda) (D U)),
D the difference across it. A is complex symmetric (A^T = A), so one
LU factorisation serves both solves.

The same machinery solves the leapfrog recurrence of :mod:`designer.physics.wave`
exactly in its own frequency domain (z = exp(i theta), one theta per DFT bin),
:func:`leapfrog_power`: an independent check of the time-domain engines on
linear media.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
import torch

from .wave import Medium

__all__ = ["SpectralMedium", "intensities", "spectral_power", "field_intensity", "leapfrog_power", "pml_faces",
           "Pattern"]

CACHE_ENTRIES = 4


@dataclass(frozen=True)
class SpectralMedium:
    """The operator at K frequencies.

    mass: (K, nx, ny) complex, differentiable. faces: (K, nx + 1, ny) and
    (K, nx, ny + 1) complex face coefficients (tensors, differentiable, or
    numpy arrays), or None for unit faces.
    source_scale: numpy (K, nx, ny) complex factor on the source (the PML's
    s_x s_y), or None. frequencies_hz: (K,) the frequencies the maps belong to.
    """

    mass: torch.Tensor
    faces: tuple | None = None
    source_scale: np.ndarray | None = None
    frequencies_hz: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.mass.shape[1:])

    @property
    def frequencies(self) -> int:
        return self.mass.shape[0]


class Pattern:
    """The sparsity pattern of the 5-point operator on an (nx, ny) grid, with a CSC layout to fill per frequency."""

    def __init__(self, nx: int, ny: int):
        self.nx, self.ny = nx, ny
        n = nx * ny
        idx = np.arange(n).reshape(nx, ny)
        west, east = idx[:-1, :].ravel(), idx[1:, :].ravel()
        south, north = idx[:, :-1].ravel(), idx[:, 1:].ravel()
        rows = np.concatenate([idx.ravel(), west, east, south, north])
        cols = np.concatenate([idx.ravel(), east, west, north, south])
        order = sp.coo_matrix((np.arange(1, rows.size + 1, dtype=float), (rows, cols)), shape=(n, n)).tocsc()
        order.sort_indices()
        self.indices, self.indptr = order.indices, order.indptr
        self.perm = order.data.astype(np.int64) - 1  # CSC slot -> entry in (diag, x faces, y faces) order
        self.n = n

    def matrix(self, mass: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> sp.csc_matrix:
        """A = div(F grad) + diag(mass) for one frequency; fx (nx + 1, ny), fy (nx, ny + 1)."""
        diag = mass - fx[:-1, :] - fx[1:, :] - fy[:, :-1] - fy[:, 1:]
        ox, oy = fx[1:-1, :].ravel(), fy[:, 1:-1].ravel()
        values = np.concatenate([diag.ravel(), ox, ox, oy, oy])
        return sp.csc_matrix((values[self.perm], self.indices, self.indptr), shape=(self.n, self.n))


def _unit_faces(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    return np.ones((nx + 1, ny), complex), np.ones((nx, ny + 1), complex)


def _factor(matrix: sp.csc_matrix, rhs: np.ndarray):
    """LU of ``matrix`` and the solution for ``rhs``.

    Minimum degree on A^T + A with diagonal pivots suits the symmetric 5-point
    pattern (about 4x faster than partial pivoting here); should the diagonal
    pivots lose accuracy (a residual above 1e-9 relative) the factorisation is
    redone with partial pivoting.
    """
    lu = sla.splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    u = lu.solve(rhs)
    if np.linalg.norm(matrix @ u - rhs) > 1e-9 * np.linalg.norm(rhs):
        lu = sla.splu(matrix, permc_spec="MMD_AT_PLUS_A")
        u = lu.solve(rhs)
    return lu, u


def _numpy(x) -> np.ndarray:
    return (x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)).astype(np.complex128)


def _differences(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """v[i] - v[i-1] on every x face (nx + 1, ny) and y face (nx, ny + 1), the field zero outside."""
    px = np.pad(v, ((1, 1), (0, 0)))
    py = np.pad(v, ((0, 0), (1, 1)))
    return px[1:] - px[:-1], py[:, 1:] - py[:, :-1]


class _Intensities(torch.autograd.Function):
    """|U_k|^2 at ``cells`` (K, C) from ``mass`` (K, nx, ny) and the faces; the adjoint in ``backward``.

    A face coefficient f between cells i - 1 and i enters A as f (e_i - e_(i-1))
    (e_(i-1) - e_i)^T, so lambda^T dA U = -df (D lambda)_f (D U)_f and its
    complex gradient is 2 conj((D lambda)_f (D U)_f).
    """

    @staticmethod
    def forward(ctx, mass, face_x, face_y, source, cells, source_scale):
        k_count, nx, ny = mass.shape
        pattern = Pattern(nx, ny)
        flat = (cells[:, 0] * ny + cells[:, 1]).cpu().numpy()
        m = _numpy(mass)
        fxs = None if face_x is None else _numpy(face_x)
        fys = None if face_y is None else _numpy(face_y)
        s = _numpy(source)
        keep = any(ctx.needs_input_grad[:3])  # the adjoint reuses the factors; an evaluation frees each at once
        lus, fields = [], []
        out = np.empty((k_count, flat.size))
        for k in range(k_count):
            fx, fy = (fxs[k], fys[k]) if fxs is not None else _unit_faces(nx, ny)
            rhs = -(s * source_scale[k] if source_scale is not None else s).ravel()
            lu, u = _factor(pattern.matrix(m[k], fx, fy), rhs)
            out[k] = np.abs(u[flat]) ** 2
            if keep:
                lus.append(lu)
                fields.append(u)
        ctx.lus, ctx.fields, ctx.flat, ctx.shape = lus, fields, flat, (nx, ny)
        ctx.dtype, ctx.device = mass.dtype, mass.device
        return torch.as_tensor(out, dtype=torch.float64, device=mass.device)

    @staticmethod
    def backward(ctx, grad):
        g = grad.detach().cpu().numpy().astype(np.float64)
        nx, ny = ctx.shape
        wants_faces = ctx.needs_input_grad[1] or ctx.needs_input_grad[2]
        count = len(ctx.lus)
        g_mass = np.zeros((count, nx, ny), np.complex128)
        g_fx = np.zeros((count, nx + 1, ny), np.complex128) if wants_faces else None
        g_fy = np.zeros((count, nx, ny + 1), np.complex128) if wants_faces else None
        for k, (lu, u) in enumerate(zip(ctx.lus, ctx.fields)):
            rhs = np.zeros(nx * ny, np.complex128)
            np.add.at(rhs, ctx.flat, g[k] * np.conj(u[ctx.flat]))
            lam = lu.solve(rhs, trans="T")
            g_mass[k] = (-2.0 * np.conj(lam * u)).reshape(nx, ny)
            if wants_faces:
                (lx, ly), (ux, uy) = _differences(lam.reshape(nx, ny)), _differences(u.reshape(nx, ny))
                g_fx[k], g_fy[k] = 2.0 * np.conj(lx * ux), 2.0 * np.conj(ly * uy)
        ctx.lus = ctx.fields = None

        def back(a, wanted):
            return torch.as_tensor(a, dtype=ctx.dtype, device=ctx.device) if wanted and a is not None else None

        return (back(g_mass, ctx.needs_input_grad[0]), back(g_fx, ctx.needs_input_grad[1]),
                back(g_fy, ctx.needs_input_grad[2]), None, None, None)


def intensities(medium: SpectralMedium, source_weights: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """|U_k|^2 at ``cells`` (C, 2) for every frequency: (K, C) float64, differentiable in ``medium.mass``."""
    mass = medium.mass if medium.mass.is_complex() else medium.mass.to(torch.complex128)
    if tuple(source_weights.shape) != medium.shape:
        raise ValueError(f"`source_weights` must have the medium's shape {medium.shape}, "
                         f"but got {tuple(source_weights.shape)}.")
    fx, fy = medium.faces if medium.faces is not None else (None, None)
    if torch.is_tensor(fx) and not fx.is_complex():
        fx, fy = fx.to(torch.complex128), fy.to(torch.complex128)
    return _Intensities.apply(mass, fx, fy, source_weights, cells, medium.source_scale)


def spectral_power(medium: SpectralMedium, source_weights: torch.Tensor, probe_weights: torch.Tensor,
                   weights: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
    """Probe powers (B, P): power[b, p] = sum_k weights[b, k] sum_c w_pc |U_k(c)|^2.

    probe_weights: (P, nx, ny). weights: (B, K), each sample's energy at each
    frequency (:meth:`designer.drive.Drive.node_weights`). Result in the weights' dtype.
    cache: a dict that keeps, without gradients, the per-probe transfer (K, P)
    of the last few media by content, so that the batches of one evaluation
    share one set of solves.
    """
    from .impulse import probe_cells

    key = None
    if cache is not None:
        digest = hashlib.blake2b(medium.mass.detach().cpu().numpy().tobytes(), digest_size=16)
        for face in medium.faces or ():
            digest.update(_numpy(face).tobytes())
        digest.update(source_weights.detach().cpu().numpy().tobytes())
        digest.update(probe_weights.detach().cpu().numpy().tobytes())
        key = digest.hexdigest()
    if key is not None and key in cache:
        per_probe = cache[key]
    else:
        cells, w = probe_cells(probe_weights)
        inten = intensities(medium, source_weights, cells)  # (K, C)
        per_probe = inten @ w.to(inten.dtype).T  # (K, P)
        if key is not None:
            while len(cache) >= CACHE_ENTRIES:
                cache.pop(next(iter(cache)))
            cache[key] = per_probe.detach()
    return (weights.to(per_probe.dtype) @ per_probe).to(weights.dtype)


@torch.no_grad()
def field_intensity(medium: SpectralMedium, source_weights: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Time-integrated intensity maps (B, nx, ny), sum_k weights[b, k] |U_k|^2 over every cell (no gradient).

    The frequency-domain counterpart of the time engines' sum over steps of
    u^2, for figures; weights as in :func:`spectral_power`.
    """
    nx, ny = medium.shape
    pattern = Pattern(nx, ny)
    mass = _numpy(medium.mass)
    s = _numpy(source_weights)
    faces = None if medium.faces is None else (_numpy(medium.faces[0]), _numpy(medium.faces[1]))
    out = np.zeros((weights.shape[0], nx * ny))
    w = weights.detach().cpu().numpy().astype(np.float64)
    for k in range(medium.frequencies):
        fx, fy = (faces[0][k], faces[1][k]) if faces is not None else _unit_faces(nx, ny)
        rhs = -(s * medium.source_scale[k] if medium.source_scale is not None else s).ravel()
        _, u = _factor(pattern.matrix(mass[k], fx, fy), rhs)
        out += w[:, k, None] * (np.abs(u) ** 2)[None]
    return torch.as_tensor(out.reshape(-1, nx, ny), dtype=weights.dtype)


def _depth(positions: np.ndarray, n: int, width: int) -> np.ndarray:
    """Normalised depth into an absorbing layer ``width`` cells thick at each edge (0 inside, 1 at the edge)."""
    into = np.maximum(width - positions, positions - (n - 1 - width))
    return np.clip(into / max(width, 1), 0.0, 1.0)


def pml_faces(shape: tuple[int, int], width_cells: int, sigma_over_omega: np.ndarray, order: float
              ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Face coefficients and source/mass stretch of a PML at K frequencies.

    s(x) = 1 + i (sigma_max / omega) depth(x)^order on each axis; x faces carry
    s_y / s_x, y faces s_x / s_y, cells s_x s_y. sigma_over_omega: (K,).
    Returns ((fx (K, nx+1, ny), fy (K, nx, ny+1)), stretch (K, nx, ny)).
    """
    nx, ny = shape
    q = np.asarray(sigma_over_omega, dtype=float)[:, None]

    def stretch(positions, n):
        return 1.0 + 1j * q * _depth(positions, n, width_cells)[None, :] ** order if width_cells > 0 else \
            np.ones((q.shape[0], positions.size), complex)

    sx_c, sy_c = stretch(np.arange(nx, dtype=float), nx), stretch(np.arange(ny, dtype=float), ny)
    sx_f, sy_f = stretch(np.arange(nx + 1) - 0.5, nx), stretch(np.arange(ny + 1) - 0.5, ny)
    fx = sy_c[:, None, :] / sx_f[:, :, None]
    fy = sx_c[:, :, None] / sy_f[:, None, :]
    return (fx, fy), sx_c[:, :, None] * sy_c[:, None, :]


def leapfrog_power(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor,
                   probe_weights: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Probe powers (B, P) of the leapfrog recurrence (speed-only, linear media), solved per DFT bin.

    The recurrence (1 + b/2) u[n+1] = 2 u[n] - (1 - b/2) u[n-1] + c^2 L u[n] + s x[n]
    has, at z = exp(i theta), (L + mass) U = -(s / c^2) X with mass =
    (2 - 2 cos theta - i b sin theta) / c^2. Then sum_m u[m]^2 = (1 / N) sum_k
    |U(theta_k)|^2 over the N = ``n_fft`` bins, exact once the response has
    decayed within N steps (it is the time engines' power with every step integrated).
    """
    if not medium.linear or medium.inv_density is not None or medium.ndim != 2:
        raise ValueError("leapfrog_power needs a linear, speed-only 2D medium")
    theta = 2 * math.pi * np.arange(n_fft // 2 + 1) / n_fft
    c2 = (medium.courant.detach().double() ** 2).cpu().numpy()
    b = medium.damping.detach().double().cpu().numpy()
    mass = (2 - 2 * np.cos(theta))[:, None, None] / c2 - 1j * np.sin(theta)[:, None, None] * b / c2
    spectral = SpectralMedium(torch.as_tensor(mass), source_scale=np.broadcast_to(1.0 / c2, mass.shape))
    x = torch.fft.rfft(inputs.double(), n=n_fft, dim=1)
    bins = torch.full((theta.size,), 2.0 / n_fft, dtype=torch.float64)
    bins[0] = bins[-1] = 1.0 / n_fft
    return spectral_power(spectral, source_weights.double(), probe_weights.double(), x.abs() ** 2 * bins)
