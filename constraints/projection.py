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

__all__ = ["tanh_projection", "staircase_projection"]


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


def staircase_projection(x: torch.Tensor, beta: float, eta: float, levels: int) -> torch.Tensor:
    """Project ``x`` in [0, 1] towards the ``levels + 1`` values {0, 1/N, ..., 1}, N = ``levels``.

    The mean of N projections, one per step of the staircase:
    ``(1/N) sum_{j<N} tanh_projection(clamp(N x - j, 0, 1), beta, eta)``.
    Step j rises around x = (j + eta) / N, so ``levels = 1`` is
    :func:`tanh_projection` itself and ``beta = math.inf`` gives exactly
    ``(number of j with N x - j > eta) / N``. Monotone non-decreasing, 0 at
    0 and 1 at 1, like each step. A multi-level design is what a relief
    prints: cell value x as a wall x H tall in a channel H high.

    Args:
        x: Field of shape ``(..., nx, ny)``, floating point, values in [0, 1].
        beta: Steepness of every step, > 0 (``math.inf`` allowed).
        eta: Threshold within each step, in (0, 1).
        levels: Steps N >= 1.
    """
    if not (isinstance(levels, int) and levels >= 1):
        raise ValueError(f"`levels` must be an integer >= 1, but got {levels!r}.")
    if levels == 1:
        return tanh_projection(x, beta, eta)
    y = levels * x
    return sum(tanh_projection((y - j).clamp(0.0, 1.0), beta, eta) for j in range(levels)) / levels
