"""The printed part in 3D: the STL voxelised, every body, inside the template's surroundings.

The 3D domain has the 2D grid's cells in x and y and cubic cells in z. Along
z it stacks, from the bottom: the surrounding fluid and its absorbing layer,
the part (base plate, channel, lid) and fluid and absorber again above. Each
z layer's material fraction is the STL's section at the layer's mid-height,
rasterised with the same area coverage as the 2D verify (so the channel
layers hold exactly the 2D map and the plates carry their port holes). The
source spans the channel height with the 2D source's weight in every channel
layer; probe weights are the 2D ones divided by the number of channel layers,
so a field that does not vary across the channel gives the 2D probe power.
Absorption: the 2D damping profile in every layer, and the same law over the
absorbing layers above and below. When the template says the transducers
close their ports (``surroundings.ports_closed``), each port's hole through the
lid is filled: a microphone or source mounted flush with the channel's
ceiling, modelled as the solid material. (An open port, or a transducer
mounted on the lid's outer face over a hole, leaves a side cavity over the
probe that changes its power by 10-25 % in this model.)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import torch

import fabrication as fab
from fabrication.spec import MM_PER_UNIT
from fabrication.stl import load_part, port_shapes, section

from .config import Config
from .errors import DesignerError
from .export import fab_layout, fab_process
from .physics.absorber import PROFILES
from .physics.layout import Layout, layout_from_config

__all__ = ["Stack", "z_stack", "voxelise", "layout_3d"]


@dataclass(frozen=True)
class Stack:
    """The z layers of the 3D domain, counted in cells of the (refined) grid, bottom to top."""

    absorber: int
    outside: int
    base: int
    channel: int
    lid: int

    @property
    def nz(self) -> int:
        return 2 * (self.absorber + self.outside) + self.base + self.channel + self.lid

    @property
    def channel_layers(self) -> range:
        first = self.absorber + self.outside + self.base
        return range(first, first + self.channel)

    def names(self) -> list[str]:
        below = ["absorber"] * self.absorber + ["outside"] * self.outside + ["base"] * self.base
        above = ["lid"] * self.lid + ["outside"] * self.outside + ["absorber"] * self.absorber
        return below + ["channel"] * self.channel + above


def _cells(length_m: float, h_m: float, what: str) -> int:
    n = length_m / h_m
    if abs(n - round(n)) > 1e-6:
        raise DesignerError(f"template: {what} ({length_m * 1e3:g} mm) is not a whole number of "
                            f"{h_m * 1e3:g} mm cells; the 3D check needs cubic cells")
    return round(n)


def z_stack(cfg: Config, refine: int = 1) -> Stack:
    """The z layers for ``cfg``'s template on a grid ``refine`` times finer."""
    t = cfg.template
    p, s = t.printing, t.surroundings
    if not p.channel:
        raise DesignerError(f"template {t.name}: the 3D check needs a part with a base plate and a lid "
                            f"(a closed channel); this template prints an open slab")
    h = t.cell_size_m / refine
    return Stack(absorber=_cells(s.absorber_m, h, "surroundings.absorber"),
                 outside=_cells(s.outside_m, h, "surroundings.outside"),
                 base=_cells(p.base_thickness_m, h, "print.base_thickness"),
                 channel=_cells(p.slab_thickness_m, h, "print.slab_thickness"),
                 lid=_cells(p.lid_thickness_m, h, "print.lid_thickness"))


def voxelise(path: Path, cfg: Config, refine: int = 1) -> tuple[np.ndarray, Stack]:
    """Material fraction per voxel, (K nx, K ny, nz), of the STL at ``path``, and the z stack."""
    stack = z_stack(cfg, refine)
    layout, process = fab_layout(cfg), fab_process(cfg)
    try:
        mesh = load_part(path, layout, process)
    except fab.FabricationReadError as exc:
        raise DesignerError(str(exc)) from None
    h_mm = cfg.template.cell_size_m * 1e3 / refine
    mm = MM_PER_UNIT[layout.unit]
    bottom = -(stack.absorber + stack.outside) * h_mm
    top = (process.height + process.grid if process.lid_thickness else process.height) * mm
    nx, ny = (refine * n for n in layout.shape_cells)
    out = np.zeros((nx, ny, stack.nz))
    cache: dict[tuple, np.ndarray] = {}
    for k in range(stack.nz):
        z = bottom + (k + 0.5) * h_mm
        if not 0.0 < z < top:
            continue
        polygons = section(mesh, z, layout, process)
        key = (round(polygons.area, 9), polygons.wkb)
        if key not in cache:
            cache[key] = fab.rasterize(polygons, layout, refine=refine)
        out[:, :, k] = cache[key]
    if cfg.template.surroundings.ports_closed and process.ports:
        # The plugs: the lid's material plus the ports grown by a cell, so the holes close exactly.
        plugs = shapely.union_all([p.buffer(layout.cell_size) for p in port_shapes(layout)])
        for k, name in enumerate(stack.names()):
            if name == "lid":
                z = bottom + (k + 0.5) * h_mm
                filled = shapely.union(section(mesh, z, layout, process),
                                       shapely.intersection(plugs, shapely.box(*layout.domain_box)))
                out[:, :, k] = fab.rasterize(filled, layout, refine=refine)
    return out, stack


def _z_damping(stack: Stack, cfg: Config, refine: int) -> torch.Tensor:
    """Damping per step along z: the grid's absorber law over the absorbing layers above and below."""
    g = cfg.grid
    z = torch.zeros(stack.nz, dtype=torch.float64)
    if stack.absorber:
        depth = (torch.arange(stack.absorber, 0, -1, dtype=torch.float64) - 0.5) / stack.absorber
        ramp = cfg.absorber_per_step(refine) * PROFILES[g.absorber_profile](depth, g.absorber_order)
        z[:stack.absorber] = ramp
        z[-stack.absorber:] = ramp.flip(0)
    return z


def layout_3d(cfg: Config, stack: Stack, refine: int = 1) -> Layout:
    """The 2D layout extended through ``stack``: source over the channel height, probes averaged over it."""
    flat = layout_from_config(cfg, refine)
    nz = stack.nz
    channel = torch.zeros(nz, dtype=torch.float64)
    channel[list(stack.channel_layers)] = 1.0
    source = flat.source_weights[:, :, None] * channel
    probes = flat.probe_weights[..., None] * (channel / stack.channel)
    damping = torch.maximum(flat.damping[:, :, None].expand(-1, -1, nz), _z_damping(stack, cfg, refine))
    extend = (lambda m: m[:, :, None].expand(-1, -1, nz).clone())
    # The fluid's loss (the channel walls' boundary layers) acts in the channel only.
    loss = None if flat.fluid_loss is None else (flat.fluid_loss[:, :, None] * channel).contiguous()
    return Layout(extend(flat.design_mask), extend(flat.keepout), extend(flat.frame), source, probes,
                  damping.contiguous(), refine, loss)


def evaluate_3d(path: Path, cfg: Config, corpus, indices: np.ndarray, refine: int = 1,
                engine: str | None = None, device: str | None = None):
    """Classify ``indices`` with the STL at ``path`` simulated in 3D.

    Returns (Evaluation, Stack, seconds, steps): ``steps`` counts the time
    steps simulated (one impulse per batch with the impulse engine).
    """
    import time

    from .drive import drive_for
    from .physics import get_engine, resolve_device
    from .train import DTYPES, Problem, check_gated_engine, evaluate

    check_gated_engine(cfg, engine or cfg.simulation.engine)
    fraction, stack = voxelise(path, cfg, refine)
    dev = resolve_device(device or cfg.simulation.device)
    dtype = DTYPES[cfg.simulation.dtype]
    layout = layout_3d(cfg, stack, refine).to(dev, dtype)
    name = engine or cfg.simulation.engine
    run = get_engine(name)
    steps = [0]

    def counted(medium, source, inputs, probes, record_every=0, **kwargs):
        # Time steps actually simulated: one impulse per batch, or every sample.
        batch, length = inputs.shape
        impulse = name == "impulse" or (name == "auto" and medium.linear and not record_every
                                        and (batch > 1 or kwargs.get("gates", 1) > 1))
        steps[0] += length if impulse else batch * length
        return run(medium, source, inputs, probes, record_every, **kwargs)

    problem = Problem(cfg, layout, None, counted, dev, dtype, drive_for(cfg, refine))
    rho = torch.as_tensor(fraction, dtype=dtype, device=dev)
    start = time.perf_counter()
    ev = evaluate(problem, corpus, indices, rho, None, cfg.training.batch_size)
    return ev, stack, time.perf_counter() - start, steps[0]
