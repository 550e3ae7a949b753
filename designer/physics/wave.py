"""The discretised scalar wave equation as a recurrent network, in 2D or 3D.

Hughes, Williamson, Minkov & Fan, "Wave physics as an analog recurrent neural
network", Science Advances 5, eaay6946 (2019): the field is the hidden state,
one leapfrog step is the recurrence and the material maps are the weights.

Everything here is dimensionless: lengths in cells, time in steps. A medium of
shape (nx, ny) or (nx, ny, nz) is given by its maps ``courant``, ``damping =
b dt`` and optionally ``inv_density``; :mod:`designer.physics.models` builds
them from physical units. One step of u_tt = A u - b u_t reads

    (1 + b/2) u[n+1] = 2 u[n] - (1 - b/2) u[n-1] + A u[n] + s[n],

with ``s[n] = source_weights * x[n]`` and the spatial operator

    A u = courant^2 * L u                      (speed only: u_tt = c^2 lap u)
    A u = courant^2 * div_h(f grad_h u)        (with ``inv_density``)

where L is the (2d+1)-point Laplacian and the divergence form is the
conservative flux stencil: the face between cells i and j carries the
coefficient f_ij = 2 q_i q_j / (q_i + q_j) of q = ``inv_density``, the
harmonic mean of 1/rho, i.e. one over the mean density, which is what flux
continuity through two half cells in series gives; a face on the domain
boundary carries the cell's own q. The field is zero outside the grid. With q
the inverse density relative to a reference fluid and courant^2 = kappa dt^2 /
(rho_ref h^2), this is the acoustic wave equation with density,
p_tt = kappa div(grad p / rho) = rho c^2 div(grad p / rho); a sound-hard wall
is its limit q -> 0 (no flux through the faces of the wall).

The paper's two nonlinearities act through the maps as functions of the
current field u[n]: ``courant + kerr * u^2`` (intensity-dependent speed) and
``damping + saturable / (1 + u^2 / saturation_amplitude^2)`` (saturable
absorption). Probes integrate u^2 over time, weighted by their masks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Medium", "laplacian", "face_coefficients", "divergence_form", "step", "simulate",
           "simulate_traces", "energy", "check_lengths", "check_cells"]


@dataclass(frozen=True)
class Medium:
    """Dimensionless medium maps, each a tensor of shape (nx, ny) or (nx, ny, nz).

    courant: c dt / h for a speed-only medium; with ``inv_density``,
    sqrt(kappa / rho_ref) dt / h, so that courant^2 * inv_density is the local
    Courant number squared. damping: b dt (absorbing layer). kerr: Courant
    change per unit u^2, or None. saturable: peak saturable damping per step,
    or None. saturation_amplitude: field amplitude at which the absorption
    halves. inv_density: rho_ref / rho per cell, or None for a uniform density
    (the speed-only wave equation).
    """

    courant: torch.Tensor
    damping: torch.Tensor
    kerr: torch.Tensor | None = None
    saturable: torch.Tensor | None = None
    saturation_amplitude: float = 1.0
    inv_density: torch.Tensor | None = None

    @property
    def linear(self) -> bool:
        return self.kerr is None and self.saturable is None

    @property
    def ndim(self) -> int:
        return self.courant.dim()

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.courant.shape)


def _shift(u: torch.Tensor, axis: int, offset: int) -> torch.Tensor:
    """u moved by ``offset`` cells along ``axis`` with zeros shifted in: out[i] = u[i + offset]."""
    out = torch.zeros_like(u)
    n = u.shape[axis]
    if offset > 0:
        out.narrow(axis, 0, n - offset).copy_(u.narrow(axis, offset, n - offset))
    else:
        out.narrow(axis, -offset, n + offset).copy_(u.narrow(axis, 0, n + offset))
    return out


def laplacian(u: torch.Tensor, ndim: int = 2) -> torch.Tensor:
    """(2 ndim + 1)-point Laplacian in cell units over the last ``ndim`` axes, zero field outside."""
    lap = -2.0 * ndim * u
    for axis in range(u.dim() - ndim, u.dim()):
        n = u.shape[axis]
        lap.narrow(axis, 1, n - 1).add_(u.narrow(axis, 0, n - 1))
        lap.narrow(axis, 0, n - 1).add_(u.narrow(axis, 1, n - 1))
    return lap


def face_coefficients(inv_density: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Face coefficients of the flux stencil, one tensor per axis.

    Axis k's tensor has n_k + 1 entries along axis k: entry i is the face
    between cells i - 1 and i, the harmonic mean 2 q q' / (q + q') inside and
    the cell's own q on the two boundary faces (0 between two cells of q = 0).
    Differentiable.
    """
    faces = []
    q = inv_density
    for axis in range(q.dim()):
        n = q.shape[axis]
        lo, hi = q.narrow(axis, 0, n - 1), q.narrow(axis, 1, n - 1)
        total = lo + hi
        # Two sound-hard cells (q = 0) share a face of coefficient 0, not 0 / 0.
        inner = 2.0 * lo * hi / torch.where(total > 0, total, torch.ones_like(total))
        faces.append(torch.cat([q.narrow(axis, 0, 1), inner, q.narrow(axis, n - 1, 1)], dim=axis))
    return tuple(faces)


def divergence_form(u: torch.Tensor, faces: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """div_h(f grad_h u) over the last len(faces) axes of ``u``, zero field outside the grid."""
    ndim = len(faces)
    out = torch.zeros_like(u)
    for k, f in enumerate(faces):
        axis = u.dim() - ndim + k
        n = u.shape[axis]
        # Differences u[i] - u[i-1] on all n + 1 faces, the ghost cells being zero.
        padded = torch.cat([torch.zeros_like(u.narrow(axis, 0, 1)), u, torch.zeros_like(u.narrow(axis, 0, 1))], axis)
        flux = f * (padded.narrow(axis, 1, n + 1) - padded.narrow(axis, 0, n + 1))
        out = out + flux.narrow(axis, 1, n) - flux.narrow(axis, 0, n)
    return out


def spatial_operator(medium: Medium, u: torch.Tensor, c: torch.Tensor,
                     faces: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
    """A u for the Courant map ``c`` (the field-dependent one when nonlinear)."""
    if medium.inv_density is None:
        return c * c * laplacian(u, medium.ndim)
    return c * c * divergence_form(u, faces if faces is not None else face_coefficients(medium.inv_density))


def local_maps(medium: Medium, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Courant and damping maps seen by field ``u`` (nonlinear terms included)."""
    c, b = medium.courant, medium.damping
    if medium.kerr is not None:
        c = c + medium.kerr * u * u
    if medium.saturable is not None:
        b = b + medium.saturable / (1.0 + (u * u) / medium.saturation_amplitude**2)
    return c, b


def step(medium: Medium, u1: torch.Tensor, u0: torch.Tensor, source: torch.Tensor,
         faces: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
    """One leapfrog step: fields u[n] (u1), u[n-1] (u0) -> u[n+1]."""
    c, b = local_maps(medium, u1)
    half_b = 0.5 * b
    return (2.0 * u1 - (1.0 - half_b) * u0 + spatial_operator(medium, u1, c, faces) + source) / (1.0 + half_b)


def _check_medium(medium: Medium) -> None:
    if medium.ndim not in (2, 3):
        raise ValueError(f"`courant` must be 2- or 3-dimensional, but got shape {medium.shape}.")
    if medium.inv_density is not None:
        if tuple(medium.inv_density.shape) != medium.shape:
            raise ValueError(f"`inv_density` must have the courant map's shape {medium.shape}, "
                             f"but got {tuple(medium.inv_density.shape)}.")
        if not medium.linear:
            raise ValueError("a medium with `inv_density` must be linear (no kerr or saturable map).")


def check_lengths(lengths: torch.Tensor | None, batch: int, steps: int) -> None:
    """``lengths`` must be None or (B,) integers in [0, T]."""
    if lengths is None:
        return
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise ValueError(f"`lengths` must hold integers, but got dtype {lengths.dtype}.")
    if tuple(lengths.shape) != (batch,):
        raise ValueError(f"`lengths` must have shape ({batch},), one per sample, but got {tuple(lengths.shape)}.")
    if batch and (int(lengths.min()) < 0 or int(lengths.max()) > steps):
        raise ValueError(f"`lengths` must lie in [0, {steps}] (the number of steps), but got "
                         f"[{int(lengths.min())}, {int(lengths.max())}].")


def check_cells(cells: torch.Tensor, shape: tuple[int, ...]) -> None:
    """``cells`` must be (C, ndim) integer indices inside a grid of ``shape``."""
    if cells.dtype.is_floating_point or cells.dtype.is_complex or cells.dtype == torch.bool:
        raise ValueError(f"`cells` must hold integer indices, but got dtype {cells.dtype}.")
    if cells.dim() != 2 or cells.shape[1] != len(shape):
        raise ValueError(f"`cells` must have shape (C, {len(shape)}), but got {tuple(cells.shape)}.")
    outside = ((cells < 0) | (cells >= torch.tensor(shape, device=cells.device))).any(1)
    if bool(outside.any()):
        raise ValueError(f"`cells` must lie inside the grid {shape}, but got {cells[outside][0].tolist()}.")


def _mask(lengths: torch.Tensor | None, n: int, like: torch.Tensor) -> torch.Tensor | None:
    """1 for the samples still integrating at step n (n < lengths), as a (B, 1) weight."""
    if lengths is None:
        return None
    return (n < lengths).to(like.dtype)[:, None]


def simulate(
    medium: Medium,
    source_weights: torch.Tensor,
    inputs: torch.Tensor,
    probe_weights: torch.Tensor,
    record_every: int = 0,
    *,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Reference engine: run the recurrence step by step under autograd.

    source_weights: (*shape) injection pattern. inputs: (B, T) signals, one
    value per step. probe_weights: (P, *shape). lengths: (B,) integers, the
    steps integrated into each sample's power (default T), integers in [0, T]:
    sample b's power is the sum over steps n < lengths[b] of the weighted u[n+1]^2. Returns the
    time-integrated probe intensities (B, P) and, when ``record_every > 0``,
    the field every that many steps, (B, ceil(T / record_every), *shape), else None.
    """
    _check_medium(medium)
    batch, steps = inputs.shape
    check_lengths(lengths, batch, steps)
    shape = (batch,) + medium.shape
    u1 = inputs.new_zeros(shape)
    u0 = inputs.new_zeros(shape)
    power = inputs.new_zeros((batch, probe_weights.shape[0]))
    faces = None if medium.inv_density is None else face_coefficients(medium.inv_density)
    weights = probe_weights.flatten(1)
    frames = []
    expand = (slice(None),) + (None,) * medium.ndim
    for n in range(steps):
        u2 = step(medium, u1, u0, source_weights * inputs[:, n][expand], faces)
        term = (u2 * u2).flatten(1) @ weights.T
        mask = _mask(lengths, n, term)
        power = power + (term if mask is None else term * mask)
        if record_every and n % record_every == 0:
            frames.append(u2.detach())
        u0, u1 = u1, u2
    return power, (torch.stack(frames, 1) if frames else None)


def simulate_traces(medium: Medium, source_weights: torch.Tensor, inputs: torch.Tensor,
                    cells: torch.Tensor) -> torch.Tensor:
    """The field u[n+1] at ``cells`` after every step, under autograd.

    cells: (C, ndim) integer indices. Returns (B, T, C). The probe power of
    :func:`simulate` is sum_n sum_c w_c traces[:, n, c]^2 over a probe's cells.
    """
    _check_medium(medium)
    check_cells(cells, medium.shape)
    batch, steps = inputs.shape
    u1 = inputs.new_zeros((batch,) + medium.shape)
    u0 = torch.zeros_like(u1)
    faces = None if medium.inv_density is None else face_coefficients(medium.inv_density)
    index = (slice(None),) + tuple(cells[:, k] for k in range(cells.shape[1]))
    expand = (slice(None),) + (None,) * medium.ndim
    out = []
    for n in range(steps):
        u0, u1 = u1, step(medium, u1, u0, source_weights * inputs[:, n][expand], faces)
        out.append(u1[index])
    return torch.stack(out, 1)


def energy(medium: Medium, u1: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
    """Discrete energy conserved by the linear, undamped leapfrog scheme, per batch item.

    E[n+1/2] = sum((u1 - u0)^2 / courant^2) - sum(u1 * M u0), with M the
    Laplacian or the divergence form (M is symmetric, so the pairing is the
    scheme's conserved quadratic form).
    """
    nd = medium.ndim
    du = u1 - u0
    kinetic = (du * du / (medium.courant * medium.courant)).flatten(-nd).sum(-1)
    if medium.inv_density is None:
        m_u0 = laplacian(u0, nd)
    else:
        m_u0 = divergence_form(u0, face_coefficients(medium.inv_density))
    potential = -(u1 * m_u0).flatten(-nd).sum(-1)
    return kinetic + potential
