"""Smoothed Heaviside projection of a filtered density.

References
----------
Wang, F., Lazarov, B. S. & Sigmund, O. (2011). On projection methods,
convergence and robust formulations in topology optimization. Struct.
Multidisc. Optim. 43, 767-784, eq. (9).
"""

from __future__ import annotations

import math

import torch

__all__ = ["tanh_projection"]


def tanh_projection(x: torch.Tensor, beta: float, eta: float) -> torch.Tensor:
    """Project ``x`` in [0, 1] towards {0, 1} around the threshold ``eta``.

    ``(tanh(beta eta) + tanh(beta (x - eta))) / (tanh(beta eta) + tanh(beta (1 - eta)))``
    (Wang, Lazarov & Sigmund 2011). The map is monotone non-decreasing, sends
    0 to 0 and 1 to 1, and the output is clamped to [0, 1] so inputs slightly
    outside [0, 1] cannot leave the range.

    ``beta = math.inf`` gives the exact threshold ``x > eta -> 1 else 0`` in
    the dtype of ``x`` (values exactly binary; zero gradient almost everywhere).

    Args:
        x: Field of shape ``(..., nx, ny)``, floating point, values in [0, 1].
        beta: Steepness, > 0 (``math.inf`` allowed).
        eta: Threshold, in (0, 1).

    Returns:
        Projected field, same shape and dtype as ``x``, values in [0, 1].
    """
    if not beta > 0:
        raise ValueError(f"`beta` must be > 0, but got {beta}.")
    if not 0.0 < eta < 1.0:
        raise ValueError(f"`eta` must lie in (0, 1), but got {eta}.")
    if math.isinf(beta):
        return (x > eta).to(x.dtype)
    low = math.tanh(beta * eta)
    high = math.tanh(beta * (1.0 - eta))
    return torch.clamp((low + torch.tanh(beta * (x - eta))) / (low + high), 0.0, 1.0)
