"""The printed channel part in 3D: its voxels, and its probe powers against the 2D map it was trained on."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fabrication as fab
from designer.drive import drive_for
from designer.export import fab_layout, fab_process
from designer.part3d import layout_3d, voxelise, z_stack
from designer.physics import build_medium, layout_from_config
from designer.physics.wave import simulate
from designer.verify import coverage, read_part
from tests.acoustic.test_part_cells import channel_config, design  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def part(design, tmp_path_factory):  # noqa: F811
    cfg, layout, binary = design
    polygons = fab.polygons_from_binary(binary.numpy().astype(float), fab_layout(cfg), fab_process(cfg))
    path = fab.export("stl", polygons, fab_layout(cfg), fab_process(cfg), tmp_path_factory.mktemp("p") / "part.stl")
    return cfg, path


def test_voxels_hold_the_plates_the_ports_and_the_2d_map(part):
    cfg, path = part
    fraction, stack = voxelise(path, cfg)
    assert stack == z_stack(cfg) and fraction.shape == (cfg.grid.nx, cfg.grid.ny, stack.nz)
    names = stack.names()
    flat = coverage(read_part(path, cfg), cfg)
    for k in stack.channel_layers:
        assert np.abs(fraction[:, :, k] - flat).max() < 1e-9
    base = [k for k, n in enumerate(names) if n == "base"]
    lid = [k for k, n in enumerate(names) if n == "lid"]
    outside = [k for k, n in enumerate(names) if n in ("outside", "absorber")]
    assert (fraction[:, :, base] > 0.999).all() and (fraction[:, :, lid] > 0.999).all()  # ports plugged
    assert fraction[:, :, outside].max() == 0.0


def test_3d_probe_powers_match_2d_for_the_plane_mode(part):
    """Below the channel's cut-off the field is uniform across the height: 3D gives the 2D powers."""
    cfg, path = part
    flat_layout = layout_from_config(cfg)
    fraction, stack = voxelise(path, cfg)
    solid = layout_3d(cfg, stack)
    drive = drive_for(cfg)
    rng = np.random.default_rng(0)
    x = drive(torch.as_tensor(rng.standard_normal((2, 90)), dtype=torch.float64))
    rho2 = torch.as_tensor(coverage(read_part(path, cfg), cfg), dtype=torch.float64)
    p2, _ = simulate(build_medium(rho2, cfg, flat_layout), flat_layout.source_weights, x, flat_layout.probe_weights)
    rho3 = torch.as_tensor(fraction, dtype=torch.float64)
    p3, _ = simulate(build_medium(rho3, cfg, solid), solid.source_weights, x, solid.probe_weights)
    relative = ((p3 - p2) / p2).abs().max()
    # The plates have PLA's impedance, not an infinite one: a small, real difference.
    assert 0 < float(relative) < 1e-2
    assert torch.equal(p3.argmax(1), p2.argmax(1))


def test_open_ports_change_the_part(part):
    """An unsealed microphone port leaks: the 3D check sees it (the template closes them)."""
    import dataclasses

    cfg, path = part
    open_ports = dataclasses.replace(cfg, template=dataclasses.replace(
        cfg.template, surroundings=dataclasses.replace(cfg.template.surroundings, ports_closed=False)))
    closed, stack = voxelise(path, cfg)
    leaky, _ = voxelise(path, open_ports)
    lid = [k for k, n in enumerate(stack.names()) if n == "lid"]
    for p in cfg.probes:  # a port hole above every probe
        assert (leaky[p.x_cells, p.y_cells, lid] < 1e-9).all()
    differs = np.argwhere(closed != leaky)
    assert len(differs) and set(differs[:, 2]) == set(lid)
