"""A design placed before the lid-port rule: it still loads and verifies, but its STL (whose lid would close
the ports) is refused in one line, with no file written."""
from __future__ import annotations

import json

from click.testing import CliRunner

from designer.cli import main
from designer.design import load_design
from tests.conftest import tiny_channel_data, write_toml


def test_a_design_with_lid_ports_under_the_rule_loads_but_its_stl_is_refused(tmp_path):
    path = write_toml(tmp_path / "c.toml", tiny_channel_data())
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(path), "--out", str(out), "--quiet", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    meta_path = out / "design.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["probes"][0]["radius_cells"] = 0.5  # as the rule's predecessor placed 24 ports: 0.8 mm holes
    meta_path.write_text(json.dumps(meta))
    design = load_design(out)  # a trained design's record still loads (verify and report work on it)
    assert design.meta["config"]["probes"][0]["radius_cells"] == 0.5
    gds = tmp_path / "part.gds"  # the walls' layout has no lid: it exports and verifies
    result = CliRunner().invoke(main, ["export", str(out), "--format", "gds", "--out", str(gds)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["verify", str(gds), "--run", str(out)])
    assert result.exit_code in (0, 1) and "accuracy" in result.output, result.output
    stl = tmp_path / "part.stl"
    result = CliRunner().invoke(main, ["export", str(out), "--format", "stl", "--out", str(stl)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "probes[0].radius_cells" in lines[0] and "minimum void of 1.6 mm" in lines[0]
    assert not stl.exists()
