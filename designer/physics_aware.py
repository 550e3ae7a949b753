"""Physics-aware training: the forward pass simulates the printed part in 3D, the backward pass its 2D twin.

Wright et al., "Deep physical neural networks trained with backpropagation",
Nature 601, 549-555 (2022), train a physical system by running the real
system forward and differentiating a digital twin backward. Here the "real
system" is the 3D model of the part as printed (what ``designer verify
--3d`` simulates) and the twin is the 2D model training already uses. For
the probe powers ``P`` of a batch,

    P = P_2D + stopgrad(P_3D - P_2D),

so the loss and its derivative ``dL/dP`` are taken at the 3D powers, and
``dL/dtheta = (dL/dP)|_{P_3D} . dP_2D/dtheta`` flows through the 2D adjoint.
Where the twin is exact the update is the plain one; where the 3D part
departs from it (the plates' finite impedance, modes across the channel),
the step is aimed at the loss of the part that will be printed.

It acts where the forward pass already sees the fabricated geometry: the
nominal variant in the last ``constraints.fabricated_epochs`` epochs
(:meth:`designer.density.DensityModel.training`). The 3D geometry is that
map extruded through the template's z stack (:mod:`designer.part3d`): the
channel layers hold the fabricated cells, frame included; base and lid are
solid, their ports closed by the transducers; fluid and absorber above and
below. That is the voxelised STL, up to the rasterisation of the exported
mesh (``tests/acoustic/test_physics_aware.py`` checks it against ``voxelise``).
A relief's layers stand in their own channel layers, each wall as tall as
it is printed (:func:`extrude`), so the 3D forward pass holds the near
field at every step of height that the 2D gap-averaged model leaves out.
The 3D medium is linear, so one traced 3D impulse per batch serves every
sample (:mod:`designer.physics.impulse`); each batch's wave-speed jitter
scales the 3D Courant map as it scales the 2D one.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from .config import Config
from .physics import Layout, build_medium, get_engine
from .physics.wave import Medium
from .readout import readout_for

__all__ = ["Twin3D", "make_twin", "extrude", "physics_aware_power"]


def extrude(flat: torch.Tensor, names: list[str], levels: int = 1) -> torch.Tensor:
    """(nx, ny, nz) material fraction: ``flat`` in the channel layers, solid plates, fluid elsewhere.

    A relief of ``levels`` = N wall heights (:mod:`designer.relief`): ``flat``
    is the mean of its N layers' coverages, and channel layer i of C (bottom
    first) holds layer j = i N // C, split off as clamp(N flat - j, 0, 1).
    The split is exact wherever at most one layer's edge crosses a cell,
    which holds on every cell of a drawn relief except where two layers'
    contours chamfer the same corner (``tests/acoustic/test_relief.py``
    compares it with the voxelised STL).
    """
    nz = len(names)
    out = flat.new_zeros(flat.shape + (nz,))
    channel = [k for k, name in enumerate(names) if name == "channel"]
    for i, k in enumerate(channel):
        out[:, :, k] = flat if levels == 1 else (levels * flat - i * levels // len(channel)).clamp(0.0, 1.0)
    for k, name in enumerate(names):
        if name in ("base", "lid"):
            out[:, :, k] = 1.0
    return out


@dataclass(frozen=True)
class Twin3D:
    """The 3D model of the printed part: its layout and z stack on the training device."""

    cfg: Config
    layout: Layout
    names: tuple[str, ...]
    levels: int = 1  # wall heights of a relief (constraints.levels)
    tally: dict = field(default_factory=dict, compare=False, repr=False)  # this epoch's 2D-3D agreement

    def count(self, power_2d: torch.Tensor, power_3d: torch.Tensor) -> None:
        """Add a batch to the epoch's tally: samples whose 2D and 3D powers name the same class."""
        readout = readout_for(self.cfg)
        same = (readout.scores(power_2d.detach()).argmax(-1) == readout.scores(power_3d).argmax(-1)).sum()
        self.tally["agree"] = self.tally.get("agree", 0) + int(same)
        self.tally["total"] = self.tally.get("total", 0) + int(power_2d.shape[0])

    def take(self) -> float | None:
        """The epoch's agreement (share of training samples; this rank's under torchrun), and a fresh tally."""
        agree, total = self.tally.get("agree", 0), self.tally.get("total", 0)
        self.tally.clear()
        return agree / total if total else None

    def power(self, flat: torch.Tensor, injected: torch.Tensor, lengths: torch.Tensor | None,
              speed_scale: float, gates: int = 1, gate_delay: int = 0) -> torch.Tensor:
        """Probe powers (B, P), (B, G P) with G gates, of the part whose 2D map is ``flat``, for injected
        waveforms (B, T) (no graph)."""
        with torch.no_grad():
            rho = extrude(flat.detach(), list(self.names), self.levels)
            medium: Medium = build_medium(rho, self.cfg, self.layout)
            if speed_scale != 1.0:
                medium = dataclasses.replace(medium, courant=medium.courant * speed_scale)
            extra = {} if lengths is None else {"lengths": lengths}
            if gates > 1:
                extra.update(gates=gates, gate_delay=gate_delay)
            power, _ = get_engine("impulse")(medium, self.layout.source_weights, injected,
                                             self.layout.probe_weights, **extra)
        return power


def make_twin(cfg: Config, device: torch.device, dtype: torch.dtype) -> Twin3D:
    """The 3D twin of ``cfg``'s part (the config check has made sure the template prints a closed channel)."""
    from .part3d import layout_3d, z_stack

    stack = z_stack(cfg)
    return Twin3D(cfg, layout_3d(cfg, stack).to(device, dtype), tuple(stack.names()), cfg.constraints.levels)


def physics_aware_power(power_2d: torch.Tensor, power_3d: torch.Tensor) -> torch.Tensor:
    """The 3D powers in value, the 2D powers' graph in the backward pass."""
    return power_2d + (power_3d.to(power_2d.dtype) - power_2d).detach()


