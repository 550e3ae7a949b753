"""A relief of wall heights (``[constraints] levels``): drawn, exported, read back, voxelised and checked in 3D.

The physics check compares the 2D density model, which reads a wall x H tall
as a cell of density x (the gap-averaged plane mode, :mod:`designer.relief`),
with the 3D solution of the same ridge resolved layer by layer.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import fabrication as fab
from constraints import PipelineSpec, binary_density
from constraints.measure import measure
from designer.checkpoint import run_fingerprint
from designer.cli import main
from designer.config import parse_config
from designer.density import fabricated_coverage, make_density_model
from designer.drive import drive_for
from designer.errors import DesignerError
from designer.export import fab_layout, fab_process
from designer.part3d import layout_3d, voxelise, z_stack
from designer.physics import build_medium, layout_from_config
from designer.physics.wave import simulate
from designer.relief import layer_polygons, layers
from designer.verify import coverage, read_part
from tests.conftest import tiny_channel_data, write_toml

LEVELS = 4


def relief_config(levels: int = LEVELS, **constraints):
    doc = tiny_channel_data()
    doc["constraints"] = {**doc.get("constraints", {}), "levels": levels, **constraints}
    return parse_config(doc, "relief.toml")


@pytest.fixture(scope="module")
def relief():
    """A rule-abiding relief drawn from a random latent field, and its config."""
    cfg = relief_config()
    model = make_density_model(cfg, layout_from_config(cfg))
    theta = torch.randn(cfg.grid.nx, cfg.grid.ny, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    return cfg, model, model.binary(theta * 3)


def test_a_relief_is_nested_layers_that_each_keep_the_rule(relief):
    cfg, model, design = relief
    values = design.numpy() * LEVELS
    assert np.allclose(values, np.rint(values)) and set(np.unique(np.rint(values))) == set(range(LEVELS + 1))
    stack = layers(design.numpy(), cfg)
    assert stack.shape == (LEVELS, cfg.grid.nx, cfg.grid.ny)
    for lower, upper in zip(stack[:-1], stack[1:]):
        assert not (upper & ~lower).any()  # every wall is a column from the base up
    mask = model.design_mask.numpy()
    for layer in stack:
        m = measure(layer, mask)
        assert m.min_solid_cells >= model.rule_cells and m.min_void_cells >= model.rule_cells
        assert m.diagonal_contacts == 0
    figures = model.lengthscale(design, design)
    assert figures["levels"] == LEVELS and figures["meets_rule"] and figures["grayness"] == 0.0


@pytest.mark.parametrize("levels", [2, 4])
def test_every_layer_keeps_the_rule_where_nesting_used_to_cut_it(levels):
    """Fine random fields (filter radius 1, rule 2): layer j is drawn with layer j - 1's gaps kept void.

    Drawn independently and then intersected, layers of these fields lost
    cells to the intersection and to the diagonal-contact repair, leaving
    1-cell walls in 12 of 15 seeds at four levels and 3 of 15 at two (the 12-vowel fold-1 part
    broke the rule this way).
    """
    n = 40
    mask = np.zeros((n, n), bool)
    mask[4:36, 4:36] = True
    none = np.zeros_like(mask)
    spec = PipelineSpec(radius_cells=1.0, min_solid_cells=2, min_void_cells=2, levels=levels)
    for seed in range(15):
        theta = torch.as_tensor(np.random.default_rng(seed).normal(-0.5, 3.0, (n, n)))
        design = binary_density(theta, mask, none, none, spec).numpy()
        steps = np.rint(design * levels)
        assert np.allclose(design * levels, steps)
        stack = [steps >= j + 1 for j in range(levels)]
        for j, layer in enumerate(stack):
            m = measure(layer, mask)
            assert (m.min_solid_cells, m.min_void_cells, m.diagonal_contacts) >= (2, 2, 0), (seed, j, m)
            assert m.diagonal_contacts == 0, (seed, j)
        assert len(np.unique(steps)) > 2, seed  # a real relief, not one layer


def test_one_level_is_the_binary_design():
    """levels = 1 draws exactly the binary design of before (the same generator, the same field)."""
    rng = np.random.default_rng(2)
    theta = torch.as_tensor(rng.normal(0, 2, (30, 30)))
    mask = np.zeros((30, 30), bool)
    mask[4:26, 4:26] = True
    none = np.zeros_like(mask)
    spec = PipelineSpec(radius_cells=3.0, min_solid_cells=3, min_void_cells=3)
    binary = binary_density(theta, mask, none, none, spec)
    assert set(np.unique(binary.numpy())) == {0.0, 1.0}
    relief2 = binary_density(theta, mask, none, none, PipelineSpec(radius_cells=3.0, min_solid_cells=3,
                                                                    min_void_cells=3, levels=2))
    assert set(np.unique(relief2.numpy() * 2)) <= {0.0, 1.0, 2.0}
    # the relief's bottom layer lies where the field rises above half a step: more than the binary design holds
    assert (relief2.numpy() > 0).sum() > binary.numpy().sum()


def test_the_relief_stl_reads_back_to_the_training_map(relief, tmp_path):
    """What is exported is what is simulated: each layer's section rasterises to the layer training saw."""
    cfg, _, design = relief
    trained = fabricated_coverage(design, cfg).numpy()
    polygons = layer_polygons(design.numpy(), cfg)
    assert isinstance(polygons, tuple) and len(polygons) == LEVELS
    path = fab.export("stl", polygons, fab_layout(cfg), fab_process(cfg), tmp_path / "relief.stl")
    part = read_part(path, cfg)
    assert len(part.polygons) == LEVELS
    assert np.abs(coverage(part, cfg) - trained).max() < 1e-3
    for j, shape in enumerate(part.polygons):
        assert np.abs(fab.rasterize(shape, fab_layout(cfg)) - fab.rasterize(polygons[j], fab_layout(cfg))).max() < 1e-3
    import trimesh

    mesh = trimesh.load(path, file_type="stl", force="mesh")
    bodies = mesh.split(only_watertight=True)
    assert mesh.is_watertight and len(bodies) == 2  # base, walls and frame one body; the lid the other
    process = fab_process(cfg)
    walls = max(bodies, key=lambda b: b.volume)
    step = process.slab_thickness / LEVELS
    stack = layers(design.numpy(), cfg)
    h = fab_layout(cfg).cell_size
    # the printed volume above the base: each layer's footprint times one step of height
    footprints = sum(float(np.sum(fab.rasterize(p, fab_layout(cfg)))) for p in polygons) * h * h * step
    base = (cfg.grid.nx * h + process.grid) * (cfg.grid.ny * h + process.grid) * process.base_thickness
    assert walls.volume == pytest.approx(base + footprints, rel=2e-3)
    assert stack.sum() > 0


def test_the_voxels_hold_each_layer_in_its_own_channel_layers(relief, tmp_path):
    cfg, _, design = relief
    path = fab.export("stl", layer_polygons(design.numpy(), cfg), fab_layout(cfg), fab_process(cfg),
                      tmp_path / "relief.stl")
    part = read_part(path, cfg)
    fraction, stack = voxelise(path, cfg)
    channel = list(stack.channel_layers)
    assert len(channel) == LEVELS  # one 0.8 mm cell per step of the 3.2 mm channel
    for j, k in enumerate(channel):
        assert np.abs(fraction[:, :, k] - fab.rasterize(part.polygons[j], fab_layout(cfg))).max() < 1e-9
    assert np.allclose(fraction[:, :, channel].mean(axis=2), coverage(part, cfg), atol=1e-9)


def _ridge_powers(cfg, level: int, cells: slice):
    """Probe powers (2D model, 3D voxels) past a ridge ``level`` / 4 of the channel tall across the duct."""
    flat = layout_from_config(cfg)
    stack = z_stack(cfg)
    solid = layout_3d(cfg, stack)
    x = drive_for(cfg)(torch.as_tensor(np.random.default_rng(0).standard_normal((3, 90)), dtype=torch.float64))
    m = torch.zeros(cfg.grid.nx, cfg.grid.ny, dtype=torch.float64)
    m[cells, 11:33] = level / LEVELS
    m[flat.frame] = 1.0
    volume = m.new_zeros(m.shape + (stack.nz,))
    for k, name in enumerate(stack.names()):
        if name in ("base", "lid"):
            volume[:, :, k] = 1.0
    for j, k in enumerate(stack.channel_layers):  # layer j holds the walls taller than j / 4 of the channel
        volume[:, :, k] = (m * LEVELS - j).clamp(0.0, 1.0)
    p2, _ = simulate(build_medium(m, cfg, flat), flat.source_weights, x, flat.probe_weights)
    p3, _ = simulate(build_medium(volume, cfg, solid), solid.source_weights, x, solid.probe_weights)
    return p2, p3


@pytest.mark.parametrize("width", [3, 16], ids=["ridge-3-cells", "plateau-16-cells"])
def test_the_gap_averaged_model_against_3d_for_a_step_in_height(width):
    """A ridge across the channel, 0 to 4 quarters of its height: 2D reads it as density x, 3D resolves each quarter.

    Full height and no ridge are the plane mode exactly (3D = 2D within 1 %).
    A low step (a quarter) keeps the gap-averaged reduction within 5 %. The
    taller steps carry the evanescent near field of the step in height that
    the reduction drops (about 12 % and 30 % in probe power for this 2.4 mm
    ridge, 14 % and 39 % for the 12.8 mm plateau, and the same within 3
    points on a grid twice as fine), yet every 3D power stays within one
    step of height of the 2D model's: the 3D part reads as the 2D map to
    within a quarter of the channel.
    """
    cfg = relief_config()
    cells = slice(31 - width, 31) if width < 10 else slice(23, 23 + width)
    powers = [_ridge_powers(cfg, level, cells) for level in range(LEVELS + 1)]
    two = [p2.sum(1) for p2, _ in powers]
    three = [p3.sum(1) for _, p3 in powers]
    for k in (0, LEVELS):
        assert float(((three[k] - two[k]) / two[k]).abs().max()) < 0.02
    assert float(((three[1] - two[1]) / two[1]).abs().max()) < 0.05
    assert (three[LEVELS] < 0.1 * three[0]).all()  # a full-height wall blocks the duct
    for k in range(2, LEVELS):  # within one step of height of the 2D model
        lo, hi = torch.minimum(two[k - 1], two[k + 1]), torch.maximum(two[k - 1], two[k + 1])
        assert ((three[k] > lo) & (three[k] < hi)).all()
    assert float(((three[2] - two[2]) / two[2]).abs().max()) > 0.05  # the reduction's error is real, not hidden


@pytest.mark.parametrize(("template", "levels", "expected"), [
    ("acoustic-channel", 3, "4 cells tall; 3 wall heights need a divisor"),
    ("acoustic-channel", 0, "expected 1 (full-height walls) to 16"),
    ("acoustic-channel", 17, "expected 1 (full-height walls) to 16"),
    ("acoustic-print", 2, "needs a closed channel"),
    ("photonic-soi", 2, "needs a closed channel"),
])
def test_a_relief_the_part_cannot_hold_is_one_line(template, levels, expected):
    from tests.conftest import tiny_for

    doc = tiny_for(template)
    doc["constraints"] = {"levels": levels}
    with pytest.raises(DesignerError) as err:
        parse_config(doc, "relief.toml")
    message = str(err.value)
    assert "constraints.levels" in message and expected in message and "\n" not in message


def test_the_physics_aware_twin_of_a_relief_is_its_voxelised_stl(relief, tmp_path):
    """The 3D twin splits the training map into its layers, each in its own channel layers, as the STL prints them."""
    from designer.physics_aware import extrude

    cfg, _, design = relief
    path = fab.export("stl", layer_polygons(design.numpy(), cfg), fab_layout(cfg), fab_process(cfg),
                      tmp_path / "relief.stl")
    voxels, stack = voxelise(path, cfg)
    twin = extrude(fabricated_coverage(design, cfg), stack.names(), LEVELS).numpy()
    assert twin.shape == voxels.shape
    # the STL's sections rasterise to the exported polygons' coverage to rounding, as for a binary part
    assert np.abs(twin - voxels).max() < 1e-3
    flat = extrude(fabricated_coverage(design, cfg), stack.names()).numpy()  # extruded as if one height
    assert np.abs(flat - voxels).max() > 0.5


def test_levels_enter_the_resume_fingerprint_only_when_set():
    one, four = parse_config(tiny_channel_data(), "a.toml"), relief_config()
    assert "levels" not in run_fingerprint(one)["constraints"]
    assert run_fingerprint(four)["constraints"]["levels"] == LEVELS


def _invoke(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_relief_run_goes_through_export_verify_3d_and_report(tmp_path):
    """Real training of a 4-height relief, its last epoch physics-aware (the layers in 3D); its STL verified in 2D
    (the run's own figure) and in 3D; the report."""
    doc = tiny_channel_data()
    doc["constraints"] = {**doc["constraints"], "levels": LEVELS, "fabricated_epochs": 1}
    doc["training"]["physics_aware"] = True
    out = tmp_path / "run"
    _invoke("optimize", write_toml(tmp_path / "run.toml", doc), "--out", out, "--epochs", 3, "--quiet")
    meta = json.loads((out / "design.json").read_text())
    assert meta["lengthscale"]["levels"] == LEVELS
    aware = [h.get("physics_aware_agreement") for h in meta["metrics"]["history"] if not h.get("selected")]
    assert aware[:2] == [None, None] and 0.0 <= aware[2] <= 1.0  # the 3D twin ran in the fabricated epoch
    arrays = np.load(out / "design.npz")
    heights = arrays["heights"]
    assert heights.max() <= LEVELS and np.array_equal(arrays["binary"], (heights >= 1).astype(np.uint8))
    refused = CliRunner().invoke(main, ["export", str(out), "--format", "gds"])
    assert refused.exit_code == 2 and "only stl holds" in refused.output and not (out / "design.gds").exists()
    _invoke("export", out, "--format", "stl")
    result = CliRunner().invoke(main, ["verify", str(out / "design.stl"), "--3d", "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert math.isclose(report["accuracy"], meta["metrics"]["final"]["test_accuracy"])
    assert report["three_d"]["shape_cells"][2] == z_stack(parse_config(doc, "run.toml")).nz
    assert 0.0 <= report["three_d"]["accuracy"] <= 1.0
    _invoke("report", out, "--no-fields")
    html = (out / "report" / "report.html").read_text()
    assert f"each of the relief&#x27;s {LEVELS} layers" in html or f"each of the relief's {LEVELS} layers" in html
    assert f"each wall 0 to {LEVELS} steps of the channel" in html  # the relief's heights map, not the bottom layer


def test_a_relief_run_asked_for_a_gds_is_refused_before_training(tmp_path):
    doc = tiny_channel_data()
    doc["constraints"] = {**doc["constraints"], "levels": LEVELS}
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(write_toml(tmp_path / "run.toml", doc)), "--out", str(out),
                                       "--export", "stl", "--export", "gds"])
    assert result.exit_code == 2 and "--export gds" in result.output and "only stl holds" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_corrupt_heights_array_is_refused(tmp_path):
    """A stored relief with a height above its levels is a one-line error on load, not a part."""
    from designer.design import load_design

    doc = tiny_channel_data()
    doc["constraints"] = {**doc["constraints"], "levels": 2}
    out = tmp_path / "run"
    _invoke("optimize", write_toml(tmp_path / "run.toml", doc), "--out", out, "--epochs", 1, "--quiet")
    arrays = dict(np.load(out / "design.npz"))
    arrays["heights"] = arrays["heights"].copy()
    arrays["heights"][0, 0] = 3
    np.savez(out / "design.npz", **arrays)
    with pytest.raises(DesignerError, match="array 'heights' has values other than the whole numbers 0 to 2"):
        load_design(out)
