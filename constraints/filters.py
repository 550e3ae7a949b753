"""Density filters: linear-hat ("conic") and Gaussian smoothing kernels.

Both filters are normalised 2D convolutions evaluated with ``torch`` so that
they are differentiable and batchable. Fields have shape ``(..., nx, ny)``
indexed ``[..., ix, iy]``; lengths are in grid cells.

Boundary handling: the field is padded by edge replication before the
convolution. A uniform field therefore stays uniform up to the array edge
(no darkening or brightening of the design region's rim, unlike zero
padding), and the filter is an exact weighted average with weights summing to
one, so the total density of any field supported farther than the kernel
half-width from the edges is preserved.

References
----------
Bourdin, B. (2001). Filters in topology optimization. Int. J. Numer. Meth.
Eng. 50, 2143-2158 (the linear-hat density filter).
Bruns, T. E. & Tortorelli, D. A. (2001). Topology optimization of non-linear
elastic structures and compliant mechanisms. CMAME 190, 3443-3459.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["conic_filter", "gaussian_filter"]


def _offsets(half_width: int, dtype: torch.dtype) -> torch.Tensor:
    """Squared distances (cells^2) of a ``(2h+1, 2h+1)`` stencil from its centre."""
    r = torch.arange(-half_width, half_width + 1, dtype=dtype)
    return r[:, None] ** 2 + r[None, :] ** 2


def conic_kernel(radius_cells: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised linear-hat kernel, weights ``max(0, R - dist)``; shape ``(k, k)``."""
    if not radius_cells > 0:
        raise ValueError(f"`radius_cells` must be > 0, but got {radius_cells}.")
    half = max(0, math.ceil(radius_cells) - 1)
    weights = torch.clamp(radius_cells - torch.sqrt(_offsets(half, dtype)), min=0.0)
    return weights / weights.sum()


def gaussian_kernel(sigma_cells: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised Gaussian kernel truncated at ``ceil(3 sigma)``; shape ``(k, k)``."""
    if not sigma_cells > 0:
        raise ValueError(f"`sigma_cells` must be > 0, but got {sigma_cells}.")
    half = math.ceil(3.0 * sigma_cells)
    weights = torch.exp(-_offsets(half, dtype) / (2.0 * sigma_cells**2))
    return weights / weights.sum()


def _convolve_replicate(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve ``(..., nx, ny)`` with a symmetric odd-sized kernel, edge-replicated."""
    if x.ndim < 2:
        raise ValueError(f"`x` must have shape (..., nx, ny), but got shape {tuple(x.shape)}.")
    if not torch.is_floating_point(x):
        raise ValueError(f"`x` must be a floating-point tensor, but got dtype {x.dtype}.")
    half = kernel.shape[-1] // 2
    if half == 0:
        return x
    batch_shape = x.shape[:-2]
    flat = x.reshape(-1, 1, *x.shape[-2:])
    padded = F.pad(flat, (half, half, half, half), mode="replicate")
    weights = kernel.to(dtype=x.dtype, device=x.device)[None, None]
    return F.conv2d(padded, weights).reshape(*batch_shape, *x.shape[-2:])


def conic_filter(x: torch.Tensor, radius_cells: float) -> torch.Tensor:
    """Linear-hat ("conic") density filter.

    ``out[i] = sum_j w_ij x[j] / sum_j w_ij`` with ``w_ij = max(0, R - |i - j|)``
    (Bourdin 2001), edge-replicated at the array boundary (module docstring).

    Args:
        x: Field of shape ``(..., nx, ny)``, floating point.
        radius_cells: Kernel radius ``R`` in cells (> 0); the kernel support
            is the set of cells at distance ``< R``.

    Returns:
        Filtered field, same shape and dtype as ``x``.
    """
    return _convolve_replicate(x, conic_kernel(radius_cells, x.dtype))


def gaussian_filter(x: torch.Tensor, sigma_cells: float) -> torch.Tensor:
    """Gaussian density filter with standard deviation ``sigma_cells``.

    Args:
        x: Field of shape ``(..., nx, ny)``, floating point.
        sigma_cells: Standard deviation in cells (> 0); truncated at 3 sigma.

    Returns:
        Filtered field, same shape and dtype as ``x``.
    """
    return _convolve_replicate(x, gaussian_kernel(sigma_cells, x.dtype))
