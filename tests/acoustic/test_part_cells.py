"""What is exported is what is simulated: the training map, the GDS and the STL give the same cells."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fabrication as fab
from designer.config import parse_config
from designer.density import fabricated_coverage, make_density_model
from designer.export import fab_layout, fab_process
from designer.physics import layout_from_config
from designer.verify import coverage, read_part
from tests.conftest import tiny_channel_data


def channel_config():
    return parse_config(tiny_channel_data(), "channel")


@pytest.fixture(scope="module")
def design():
    cfg = channel_config()
    layout = layout_from_config(cfg)
    model = make_density_model(cfg, layout)
    theta = torch.randn(cfg.grid.nx, cfg.grid.ny, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    binary = model.binary(theta * 3)
    return cfg, layout, binary


def test_the_frame_is_printed_material_in_the_training_map(design):
    cfg, layout, binary = design
    trained = fabricated_coverage(binary, cfg).numpy()
    frame = layout.frame.numpy()
    assert frame[:3].all() and frame[-3:].all() and frame[:, :3].all() and frame[:, -3:].all()
    assert (trained[frame] > 0.99).all()
    assert 0.05 < trained[layout.design_mask.numpy()].mean() < 0.95  # a real design, not a blank


@pytest.mark.parametrize("fmt", ["gds", "stl"])
def test_exported_file_reads_back_to_the_training_map(design, fmt, tmp_path):
    cfg, layout, binary = design
    trained = fabricated_coverage(binary, cfg).numpy()
    polygons = fab.polygons_from_binary(binary.numpy().astype(float), fab_layout(cfg), fab_process(cfg))
    path = fab.export(fmt, polygons, fab_layout(cfg), fab_process(cfg), tmp_path / f"part.{fmt}")
    back = coverage(read_part(path, cfg), cfg)
    assert back.shape == trained.shape
    assert np.abs(back - trained).max() < 1e-3
