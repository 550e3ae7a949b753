"""Each kind of config error is one line naming the file, the key and what was expected."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from designer.cli import main
from designer.config import load_config
from tests.conftest import tiny_data, write_toml


def _run(tmp_path, data: dict):
    path = write_toml(tmp_path / "bad.toml", data)
    result = CliRunner().invoke(main, ["optimize", str(path), "--out", str(tmp_path / "run")])
    return path, result


def _assert_one_line(result, path, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert str(path) in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_valid_tiny_config_parses(tiny_config_path):
    cfg = load_config(tiny_config_path)
    assert cfg.grid.nx == 48 and cfg.template.name == "photonic-soi"
    assert cfg.dt_s == pytest.approx(1 / (10000.0 * cfg.template.time_scale))


def test_unknown_key_suggests_closest(tmp_path):
    data = tiny_data()
    data["training"]["epoch"] = 3
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "training.epoch", "did you mean 'epochs'")


def test_unknown_section_suggests_closest(tmp_path):
    data = tiny_data()
    data["trainig"] = {"epochs": 3}
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "trainig", "did you mean 'training'")


def test_wrong_type(tmp_path):
    data = tiny_data()
    data["grid"]["nx"] = "wide"
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "grid.nx", "expected an integer", "'wide'")


def test_missing_value(tmp_path):
    data = tiny_data()
    del data["grid"]["nx"]
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "grid.nx", "missing value")


def test_missing_template(tmp_path):
    data = tiny_data()
    del data["template"]
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "template", "missing value")


def test_unknown_template_lists_valid_ones(tmp_path):
    data = tiny_data()
    data["template"] = "photonic"
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "template", "acoustic-print", "photonic-soi")


def test_invalid_choice(tmp_path):
    data = tiny_data()
    data["simulation"] = {"engine": "fast"}
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "simulation.engine", "expected one of auto, fused, reference")


def test_cfl_violation_names_a_stable_dt(tmp_path):
    data = tiny_data()
    data["simulation"] = {"time_scale": 3.0e11}
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "simulation.time_scale", "CFL", "stable dt is <=", "time_scale >=")


def test_probe_outside_domain(tmp_path):
    data = tiny_data()
    data["probes"][0]["x_cells"] = 60
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "probes[0]", "outside the 48 x 36 grid")


def test_source_inside_absorbing_layer(tmp_path):
    data = tiny_data()
    data["sources"][0]["x_cells"] = 3
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "sources[0]", "absorbing layer")


def test_design_region_overlapping_a_probe(tmp_path):
    data = tiny_data()
    data["design_region"]["x1_cells"] = 38
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "probes[", "overlaps the design region")


def test_probe_count_must_match_classes(tmp_path):
    data = tiny_data()
    data["probes"] = data["probes"][:2]
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "probes", "one probe per class")


def test_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[grid\nnx = 3\n")
    result = CliRunner().invoke(main, ["optimize", str(path)])
    _assert_one_line(result, path, "not valid TOML")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    result = CliRunner().invoke(main, ["optimize", str(path)])
    _assert_one_line(result, path, "file not found")


def test_hillenbrand_without_path(tmp_path):
    data = tiny_data()
    data["data"]["corpus"] = "hillenbrand"
    path, result = _run(tmp_path, data)
    _assert_one_line(result, path, "data.path", "--data")
