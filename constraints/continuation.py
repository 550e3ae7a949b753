"""Projection-steepness continuation (beta schedule).

References
----------
Guest, J. K., Prevost, J. H. & Belytschko, T. (2004). Achieving minimum length
scale in topology optimization using nodal design variables and projection
functions. Int. J. Numer. Meth. Eng. 61, 238-254 (beta continuation).
"""

from __future__ import annotations

import math

__all__ = ["beta_schedule"]


def beta_schedule(
    epoch: int, beta_start: float, factor: float, every_epochs: int, beta_max: float
) -> float:
    """Projection steepness at ``epoch``: ``min(beta_max, beta_start * factor ** (epoch // every_epochs))``.

    Args:
        epoch: Zero-based epoch index, >= 0.
        beta_start: Steepness for the first ``every_epochs`` epochs, > 0.
        factor: Multiplier applied every ``every_epochs`` epochs, >= 1.
        every_epochs: Epochs between increases, >= 1.
        beta_max: Cap, >= ``beta_start`` (may be ``math.inf``).
    """
    if epoch < 0:
        raise ValueError(f"`epoch` must be >= 0, but got {epoch}.")
    if not beta_start > 0:
        raise ValueError(f"`beta_start` must be > 0, but got {beta_start}.")
    if not factor >= 1:
        raise ValueError(f"`factor` must be >= 1, but got {factor}.")
    if every_epochs < 1:
        raise ValueError(f"`every_epochs` must be >= 1, but got {every_epochs}.")
    if not beta_max >= beta_start:
        raise ValueError(f"`beta_max` must be >= beta_start={beta_start}, but got {beta_max}.")
    steps = epoch // every_epochs
    if factor == 1 or steps == 0:
        return float(beta_start)
    # Compare in log space so huge epoch counts cannot overflow.
    if steps * math.log(factor) >= math.log(beta_max / beta_start):
        return float(beta_max)
    try:
        return float(beta_start * factor**steps)
    except OverflowError:  # only reachable with beta_max = inf
        return float(beta_max)
