"""`designer export` and `designer verify` on a real (tiny) trained run."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import gdstk
import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from designer.cli import main
from tests.conftest import tiny_data, write_toml


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny two-class design (four test samples), exported to GDS and STL."""
    tmp = tmp_path_factory.mktemp("fab")
    data = tiny_data()
    data["data"]["vowels"] = ["ae", "iy"]
    data["probes"] = data["probes"][:2]
    data["training"].update(epochs=6, learning_rate=0.3)
    config = write_toml(tmp / "tiny.toml", data)
    out = tmp / "run"
    runner = CliRunner()
    result = runner.invoke(main, ["optimize", str(config), "--out", str(out), "--quiet", "--export", "gds",
                                  "--export", "stl"])
    assert result.exit_code == 0, result.output
    return out


def test_optimize_exports_and_verifies_each_design(run):
    summary = json.loads((run / "summary.json").read_text())
    fold = summary["folds"][0]
    for fmt in ("gds", "stl"):
        assert (run / f"design.{fmt}").exists()
        assert (run / f"verify-design.{fmt}.json").exists()
        assert abs(fold["fabricated"][fmt]["accuracy"] - fold["test_accuracy"]) <= 1e-9 + 1 / 4
        assert summary["fabricated"][fmt]["accuracy_mean"] == fold["fabricated"][fmt]["accuracy"]
    assert summary["all_meet_rule"] == fold["lengthscale"]["meets_rule"]


def test_export_command_defaults_to_the_template_format(run, tmp_path):
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "x.gds")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.gds").read_bytes() == (run / "design.gds").read_bytes()


def _verify(*args):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


def _json(result) -> dict:
    return json.loads(result.output.strip().splitlines()[-1])


def test_export_writes_into_the_run_folder(run):
    lib = gdstk.read_gds(run / "design.gds")
    assert [c.name for c in lib.top_level()] == ["DESIGNER_DEVICE"]
    assert any(p.layer == 1 for p in lib.top_level()[0].polygons)
    mesh = trimesh.load(run / "design.stl")
    assert mesh.is_watertight


@pytest.mark.parametrize("name", ["design.npz", "design.gds", "design.stl"])
def test_round_trip_matches_the_trained_accuracy(run, name):
    result = _verify(run / name, "--json")
    report = _json(result)
    for key in ("accuracy", "reference_accuracy", "drop_points", "confusion_matrix", "passed", "chance_accuracy",
                "p_value_above_chance", "failures"):
        assert key in report
    # The round trip keeps the accuracy, so only the test against chance can fail (four test samples of
    # two classes never beat chance at the 5 % level: 4 of 4 has p = 1/16).
    assert not any("drop" in f for f in report["failures"])
    assert report["passed"] == (report["p_value_above_chance"] < 0.05)
    assert result.exit_code == (0 if report["passed"] else 1)
    n = report["test_samples"]
    # Within one test sample of the trained binary design (the npz is the same design exactly).
    allowed = 0.0 if name.endswith("npz") else 100.0 / n + 1e-9
    assert abs(report["drop_points"]) <= allowed


def test_variations_are_reported(run):
    result = _verify(run / "design.gds", "--json", "--bias", "±0.01", "--contrast", "±5")
    assert result.exit_code in (0, 1), result.output
    kinds = [(v["kind"], v.get("bias_um", v.get("contrast_percent"))) for v in _json(result)["variations"]]
    assert kinds == [("bias", 0.01), ("bias", -0.01), ("contrast", 5.0), ("contrast", -5.0)]


GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """The example's trained design (examples/vowels.toml), exported to GDS here."""
    folder = tmp_path_factory.mktemp("golden")
    for name in ("design.npz", "design.json"):
        shutil.copy(GOLDEN / name, folder / name)
    result = CliRunner().invoke(main, ["export", str(folder), "--format", "gds"])
    assert result.exit_code == 0, result.output
    return folder


def _tampered(run, tmp_path, change) -> Path:
    lib = gdstk.read_gds(run / "design.gds")
    cell = lib.top_level()[0]
    device = [p for p in cell.polygons if p.layer == 1]
    change(cell, device)
    path = tmp_path / "tampered.gds"
    lib.write_gds(path)
    return path


def test_golden_design_verifies_as_trained(golden):
    report = _json(_verify(golden / "design.gds", "--json"))
    assert report["passed"] and report["drop_points"] == 0
    assert report["accuracy"] > 0.5  # well above chance (1/3): tampering has something to break


def test_shifted_part_fails(golden, tmp_path):
    def shift(cell, device):
        for p in device:
            p.translate(0.3, 0.0)  # 6 cells of 50 nm; the markers stay where they were

    result = _verify(_tampered(golden, tmp_path, shift), "--run", golden, "--json")
    report = _json(result)
    assert report["drop_points"] > 2
    assert result.exit_code == 1


def test_deleted_feature_fails(golden, tmp_path):
    def delete(cell, device):
        cell.remove(max(device, key=lambda p: p.area()))

    result = _verify(_tampered(golden, tmp_path, delete), "--run", golden, "--json")
    report = _json(result)
    assert report["drop_points"] > 2
    assert result.exit_code == 1


def test_part_with_no_device_polygons_is_unreadable(run, tmp_path):
    def delete(cell, device):
        cell.remove(*device)

    result = _verify(_tampered(run, tmp_path, delete), "--run", run, "--json")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["corrupt", "empty", "wrong-layer", "wrong-units", "unknown-type"])
def test_bad_files_exit_2_with_one_line(run, tmp_path, kind):
    if kind == "corrupt":
        path = tmp_path / "bad.gds"
        path.write_bytes((run / "design.gds").read_bytes()[:100])
    elif kind == "empty":
        path = tmp_path / "empty.stl"
        path.write_bytes(b"")
    elif kind == "wrong-layer":
        lib = gdstk.read_gds(run / "design.gds")
        for p in lib.top_level()[0].polygons:
            if p.layer == 1:
                p.layer = 5
        path = tmp_path / "layer.gds"
        lib.write_gds(path)
    elif kind == "wrong-units":
        lib = gdstk.read_gds(run / "design.gds")
        lib.top_level()[0].copy("x")
        scaled = gdstk.Library(unit=1e-3)
        scaled.add(*lib.cells)
        path = tmp_path / "units.gds"
        scaled.write_gds(path)
    else:
        path = tmp_path / "part.obj"
        path.write_text("v 0 0 0\n")
    result = _verify(path, "--run", run)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert str(path.name) in lines[0]


def test_verify_without_run_folder_says_what_to_pass(tmp_path, run):
    path = tmp_path / "design.gds"
    path.write_bytes((run / "design.gds").read_bytes())
    result = _verify(path)
    assert result.exit_code == 2
    assert "--run" in result.output


def test_strict_export_fails_on_a_thin_feature(run, tmp_path):
    copy = tmp_path / "thin"
    shutil.copytree(run, copy)
    with np.load(copy / "design.npz") as d:
        arrays = dict(d)
    arrays["binary"][20:30, 18] = 1  # a one-cell-wide line: below the 2-cell rule
    arrays["binary"][20:30, 17] = 0
    arrays["binary"][20:30, 19] = 0
    np.savez(copy / "design.npz", **arrays)
    result = CliRunner().invoke(main, ["export", str(copy), "--format", "gds", "--strict", "--out",
                                       str(tmp_path / "strict.gds")])
    assert result.exit_code == 1
    assert "min_width" in result.output
    assert not (tmp_path / "strict.gds").exists()
