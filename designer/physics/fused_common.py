"""What the fused engine's backends share: the problem, the gradient request, the result.

The backends (:mod:`designer.physics.fused_numba`, :mod:`designer.physics.fused_torch`)
see plain detached tensors of one dtype and device; autograd stays in
:mod:`designer.physics.fused`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

__all__ = ["Problem", "Needs", "Grads", "Outputs", "segments", "finish_linear"]


@dataclass(frozen=True)
class Problem:
    """One simulation's detached tensors, all of one dtype and on one device.

    courant, damping: (nx, ny). kerr, saturable: (nx, ny) or None.
    source_weights: (nx, ny). inputs: (B, T). probe_weights: (P, nx, ny), P
    may be 0. Same meaning as :class:`designer.physics.wave.Medium` and
    ``wave.simulate``. faces: the divergence form's face coefficients
    (``wave.face_coefficients``: (nx + 1, ny) and (nx, ny + 1)), or None for
    the Laplacian; linear media only. lengths: (B,) int64 on the problem's
    device, the steps integrated into each sample's power, or None for all T.
    cells: (C, 2) int64 cells whose field is traced after every step, or None.
    """

    courant: torch.Tensor
    damping: torch.Tensor
    kerr: torch.Tensor | None
    saturable: torch.Tensor | None
    saturation_amplitude: float
    source_weights: torch.Tensor
    inputs: torch.Tensor
    probe_weights: torch.Tensor
    faces: tuple[torch.Tensor, torch.Tensor] | None = None
    lengths: torch.Tensor | None = None
    cells: torch.Tensor | None = None

    @property
    def linear(self) -> bool:
        return self.kerr is None and self.saturable is None

    @property
    def batch(self) -> int:
        return self.inputs.shape[0]

    @property
    def steps(self) -> int:
        return self.inputs.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.courant.shape)

    @property
    def traced(self) -> int:
        """Number of traced cells C (0 without traces)."""
        return 0 if self.cells is None else self.cells.shape[0]

    def horizon(self, record_every: int) -> int:
        """Steps a forward pass must run: all T for frames or traces, else the longest sample."""
        if self.lengths is None or record_every or self.traced:
            return self.steps
        return int(self.lengths.max()) if self.batch else 0


@dataclass(frozen=True)
class Needs:
    """Which inputs of the simulation want a gradient (faces: either face tensor)."""

    courant: bool = False
    damping: bool = False
    kerr: bool = False
    saturable: bool = False
    faces: bool = False
    source_weights: bool = False
    inputs: bool = False
    probe_weights: bool = False


@dataclass(frozen=True)
class Grads:
    """Gradients of the loss with respect to each input; None where not asked for."""

    courant: torch.Tensor | None = None
    damping: torch.Tensor | None = None
    kerr: torch.Tensor | None = None
    saturable: torch.Tensor | None = None
    faces: tuple[torch.Tensor, torch.Tensor] | None = None
    source_weights: torch.Tensor | None = None
    inputs: torch.Tensor | None = None
    probe_weights: torch.Tensor | None = None


@dataclass(frozen=True)
class Outputs:
    """A forward pass: power (B, P), frames (B, F, nx, ny), checkpoints (B, S - 1, 2, nx, ny)
    and traces (B, T, C); the unrequested ones have zero length."""

    power: torch.Tensor
    frames: torch.Tensor
    checkpoints: torch.Tensor
    traces: torch.Tensor


def segments(steps: int, every: int) -> int:
    """Number of checkpoint segments of ``every`` steps covering ``steps`` steps.

    Segment j runs steps jK .. min((j+1)K, T) - 1 starting from (u[jK-1], u[jK]);
    segment 0 starts from rest, so ``segments - 1`` checkpoints are stored.
    """
    return max(1, -(-steps // every))


def finish_linear(p: Problem, sums: Grads) -> Grads:
    """Linear-case gradients from the backends' time sums.

    With constant maps the adjoint is carried as nu[m] = a lambda[m],
    a = 1 / (1 + b/2), and the backends return sum(nu[n+1] A' u[n]) (A' the
    Laplacian or the divergence form), sum(nu[n+1] (u[n-1] - u[n+1])) and
    sum(x[n] nu[n+1]), which scale by 2 c, 1/2 and 1 into the courant, damping
    and source-weight gradients; the face gradients need no scaling.
    """
    def scaled(g: torch.Tensor | None, factor) -> torch.Tensor | None:
        return None if g is None else g * factor

    return replace(sums, courant=scaled(sums.courant, 2.0 * p.courant), damping=scaled(sums.damping, 0.5))
