"""KLayout's own width and space checks, Euclidean at the rule, pass the GDS of real designs.

The designs: brush-generator designs from random and adversarial fields
(45-degree and steeper lines two cells wide, thin necks), the golden design
of the example, and designs trained for two epochs on the tiny config, each
for every template that writes GDS.
"""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy import ndimage

pytest.importorskip("klayout.db")

import fabrication as fab  # noqa: E402
from constraints import pipeline  # noqa: E402
from designer.cli import main  # noqa: E402
from designer.config import parse_config  # noqa: E402
from designer.density import make_density_model  # noqa: E402
from designer.export import fab_layout, fab_process  # noqa: E402
from designer.physics import layout_from_config  # noqa: E402
from fabrication.spec import UM_PER_UNIT  # noqa: E402
from templates import load_template, template_names  # noqa: E402
from tests.conftest import tiny_data, tiny_for, write_toml  # noqa: E402
from tests.klayout_checks import klayout_checks  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
TEMPLATES = template_names()  # every template: each one can be written as GDS


def _model(template):
    """A 46 x 38-cell design region, a dozen cells clear of the domain's edges (absorber and any frame)."""
    data = tiny_data()
    data["template"] = template
    data["grid"] = {"nx": 80, "ny": 64, "absorber_cells": 8}
    data["design_region"] = {"x0_cells": 14, "x1_cells": 60, "y0_cells": 13, "y1_cells": 51, "keepout_cells": 1}
    data["probes"] = [{"name": n, "x_cells": 64, "y_cells": y, "radius_cells": 1.0}
                      for n, y in (("ae", 20), ("ei", 32), ("iy", 44))]
    data["sources"] = [{"name": "input", "x_cells": 12, "y_cells": 32}]
    cfg = parse_config(data, "test")
    return cfg, make_density_model(cfg, layout_from_config(cfg))


def _field(name: str, shape, brush_cells: int) -> np.ndarray:
    """Latent fields whose generator designs have features at the rule in awkward directions.

    Lengths are in units of half the brush, so each template gets features at its own rule.
    """
    x, y = (a * 2.0 / brush_cells for a in np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij"))
    kind, _, arg = name.partition("-")
    if kind == "random":
        seed, sigma = arg.split("/")
        noise = np.random.default_rng(int(seed)).standard_normal(shape)
        return 6 * ndimage.gaussian_filter(noise, float(sigma) * brush_cells / 2.0)
    if kind == "neck":  # bars joined by one-cell-wide links, with noise
        noise = np.random.default_rng(100 + int(arg)).standard_normal(shape)
        return 3 * np.cos(2 * np.pi * x / 5) + 2 * np.cos(2 * np.pi * y / 9) + noise
    # Lines with direction (1, -slope), `period` half-brushes apart: lines and gaps near the rule.
    slope, period = (int(v) for v in arg.split("/"))
    return 3 * np.cos(2 * np.pi * (slope * x + y) / (period * np.hypot(slope, 1)))


FIELDS = ["random-0/1.0", "random-1/1.0", "random-2/1.5", "random-3/1.5", "random-4/3.0",
          "line-1/4", "line-1/5", "line-2/4", "line-2/5", "line-3/4", "line-3/6", "neck-0", "neck-1"]


def _rules_um(cfg) -> tuple[float, float]:
    process = fab_process(cfg)
    scale = UM_PER_UNIT[cfg.template.length_unit]
    return process.min_solid * scale, process.min_void * scale


def _klayout(cfg, binary: np.ndarray, path: Path) -> dict:
    layout, process = fab_layout(cfg), fab_process(cfg)
    polygons = fab.polygons_from_binary(binary.astype(float), layout, process)
    fab.export("gds", polygons, layout, process, path)
    return klayout_checks(path, *_rules_um(cfg), layer=cfg.template.gds.device)


@pytest.mark.parametrize("template", TEMPLATES)
def test_generator_designs_pass_klayout(template, tmp_path):
    cfg, model = _model(template)
    brush = int(np.ceil(model.rule_cells))
    unchecked_fail = 0
    for name in FIELDS:
        theta = torch.as_tensor(_field(name, model.design_mask.shape, brush))
        found = _klayout(cfg, model.binary(theta).numpy() > 0.5, tmp_path / "design.gds")
        assert found == {"width": [], "space": []}, name
        plain = pipeline.binary_density(theta, *model._args()).numpy() > 0.5
        unchecked_fail += any(_klayout(cfg, plain, tmp_path / "plain.gds").values())
    # Without the design-rule feedback the generator's designs do fail KLayout's checks
    # (9 of 13 fields for photonic-soi, 4 for acoustic-print, whose rule is under its brush).
    assert unchecked_fail >= 3


def test_golden_design_passes_klayout(tmp_path):
    for name in ("design.npz", "design.json"):
        shutil.copy(GOLDEN / name, tmp_path / name)
    result = CliRunner().invoke(main, ["export", str(tmp_path), "--format", "gds"])
    assert result.exit_code == 0, result.output
    assert "0 DRC violations" in result.output
    template = load_template("photonic-soi")
    rules = (template.min_solid_m * 1e6, template.min_void_m * 1e6)
    assert klayout_checks(tmp_path / "design.gds", *rules) == {"width": [], "space": []}


@pytest.mark.parametrize("template", TEMPLATES)
def test_trained_tiny_design_passes_klayout(template, tmp_path):
    config = write_toml(tmp_path / "tiny.toml", tiny_for(template))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(out), "--quiet", "--template", template,
                                       "--export", "gds"])
    assert result.exit_code == 0, result.output
    data = tiny_for(template)
    cfg = parse_config(data, "tiny")
    found = klayout_checks(out / "design.gds", *_rules_um(cfg), layer=cfg.template.gds.device)
    assert found == {"width": [], "space": []}
