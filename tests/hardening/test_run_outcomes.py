"""What a run ships: nothing when it diverges or cannot fit; strict JSON and its provenance when it works."""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from designer import budget
from designer.cli import main
from designer.config import parse_config
from designer.design import load_design
from designer.errors import DesignerError
from designer.runner import check_budget, optimize
from tests.conftest import tiny_data, write_toml


def _strict(text: str):
    """JSON as JavaScript's JSON.parse reads it: NaN and Infinity are errors."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("section, key, value", [("nonlinearity", "kerr", 1e6),
                                                 ("training", "learning_rate", 1e308)])
def test_a_run_that_goes_non_finite_stops_in_one_line_and_ships_nothing(tmp_path, section, key, value):
    data = tiny_data()
    data.setdefault(section, {})[key] = value
    config = write_toml(tmp_path / "bad.toml", data)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(out), "--epochs", "2", "--quiet"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "training diverged at epoch 1, batch 1" in lines[0] and "nothing was shipped" in lines[0]
    for name in ("design.npz", "design.json", "summary.json"):
        assert not (out / name).exists(), name


def test_a_huge_beta_factor_is_capped_at_beta_max_and_stays_finite(tmp_path):
    data = tiny_data()
    data["constraints"].update(beta_factor=1e300, beta_max=64.0)
    summary = optimize(parse_config(data, "tiny.toml"), tmp_path / "run", config_data=data)
    design = load_design(tmp_path / "run")
    assert design.meta["metrics"]["final"]["beta"] == 64.0
    assert all(np.isfinite(a).all() for a in design.arrays.values() if a.dtype.kind == "f")
    assert 0 <= summary["test_accuracy_mean"] <= 1


def test_a_config_that_cannot_fit_in_memory_is_refused_before_allocating(tmp_path):
    data = tiny_data()
    data["data"]["window_samples"] = 1_000_000
    data["training"]["batch_size"] = 100_000
    data["simulation"] = {"engine": "reference"}
    cfg = parse_config(data, "tiny.toml")
    with pytest.raises(DesignerError) as info:
        optimize(cfg, tmp_path / "run")
    message = str(info.value)
    assert "\n" not in message and message.startswith("tiny.toml: training: needs about ")
    estimate = float(message.split("needs about ")[1].split(" MiB")[0])
    assert estimate * 2**20 > budget.available_memory_bytes()
    assert "reference-engine graph" in message and "MiB this machine has free" in message
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


def test_the_estimates_match_the_measured_engine_memory():
    """README, Results: fused 37 MiB per step (2 threads) and the reference 9.6 GB, paper scale (160 x 100, B 21, T 1000)."""
    fused = budget.estimate_training(16000, 1000, 21, 4, "fused", "cpu", concurrent=2)
    reference = budget.estimate_training(16000, 1000, 21, 4, "reference", "cpu")
    fixed = budget.PROCESS_BYTES + (budget.PIPELINE_FIELDS + 1) * 16000 * 8
    assert 25 * 2**20 < fused.bytes - fixed < 60 * 2**20
    assert 8e9 < reference.bytes - fixed < 11e9


def test_the_spectral_estimate_counts_the_lu_factors_it_keeps_and_not_the_batch():
    """A carrier run keeps one LU per frequency for the adjoint; its size is measured here, on a real factorisation."""
    from designer.physics.spectral import Pattern, _factor

    nx, ny = 120, 90
    pattern = Pattern(nx, ny)
    matrix = pattern.matrix(np.full((nx, ny), 0.3 + 0.01j), np.ones((nx + 1, ny), complex), np.ones((nx, ny + 1), complex))
    rhs = np.zeros(nx * ny, complex)
    rhs[7] = 1.0
    lu, _ = _factor(matrix, rhs)
    measured = lu.L.nnz + lu.U.nnz
    assert measured <= budget.lu_entries(nx * ny) < 1.5 * measured
    small = budget.estimate_training(nx * ny, 50000, 8, 4, "spectral", frequencies=38)
    large = budget.estimate_training(nx * ny, 50000, 800, 4, "spectral", frequencies=38)
    assert small.bytes == large.bytes and "38 frequencies" in small.detail
    assert small.bytes - budget.PROCESS_BYTES < 38 * measured * 40


def test_a_carrier_config_is_estimated_for_the_spectral_engine(tmp_path):
    """The spectral template never runs the impulse engine, so a batch of 84 with 24 probes fits in a few GB."""
    from designer.config import load_config

    data = tomllib.loads(Path("examples/vowels_carrier.toml").read_text())
    data["training"]["batch_size"] = 840
    data["data"]["path"] = str(tmp_path)
    estimate = check_budget(parse_config(data, str(tmp_path / "c.toml")))
    assert "spectral engine" in estimate.detail and estimate.bytes < 2 * 2**30
    assert "spectral engine" in check_budget(load_config("examples/vowels_carrier.toml")).detail


def test_the_example_fits_this_machine():
    from designer.config import load_config

    estimate = check_budget(load_config("examples/vowels.toml"))
    assert estimate.bytes < 2 * 2**30


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("strict")
    config = write_toml(folder / "tiny.toml", tiny_data())
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(folder / "run"), "--epochs", "1",
                                       "--quiet", "--export", "gds"])
    assert result.exit_code == 0, result.output
    return folder / "run"


def test_every_json_file_a_run_writes_is_strict(exported_run):
    files = ["design.json", "summary.json", "verify-design.gds.json"]
    for name in files:
        _strict((exported_run / name).read_text())
    with np.load(exported_run / "checkpoint.npz") as data:
        _strict(data["meta"].tobytes().decode())


def test_non_finite_numbers_are_written_as_null_and_a_length_scale_reads_back_as_inf(exported_run, tmp_path):
    from designer import jsonio

    assert jsonio.dumps({"a": math.inf, "b": [math.nan, 1.0], "c": np.float32("-inf")}) == \
        '{"a": null, "b": [null, 1.0], "c": null}'
    run = tmp_path / "run"
    run.mkdir()
    for name in ("design.npz", "design.json"):
        (run / name).write_bytes((exported_run / name).read_bytes())
    meta = json.loads((run / "design.json").read_text())
    meta["lengthscale"]["min_void_cells"] = None
    (run / "design.json").write_text(json.dumps(meta))
    assert load_design(run).meta["lengthscale"]["min_void_cells"] == math.inf


def test_design_json_records_what_reproducing_the_run_needs(exported_run):
    meta = json.loads((exported_run / "design.json").read_text())
    for package in ("torch", "numpy", "numba", "llvmlite", "gdstk", "designer"):
        assert meta["versions"][package], package
    runtime = meta["runtime"]
    # "auto": the impulse engine for linear batches, the fused one otherwise (designer.physics.engines).
    assert runtime["engine"] == "auto" and runtime["device"] == "cpu" and runtime["fused_backend"] == "numba"
    assert runtime["torch_threads"] >= 1 and runtime["numba_threads"] >= 1
    assert runtime["numba_cpu_name"] and "+" in runtime["numba_cpu_features"]
    assert runtime["torch_cpu_capability"] in ("DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX", "NO AVX")


def test_verify_bounds_its_refinement_and_checks_the_test_indices(tmp_path):
    import shutil

    from tests.hardening.corpus import GOLDEN, golden_arrays, npz

    run = tmp_path / "run"
    run.mkdir()
    for name in ("design.npz", "design.json"):
        shutil.copy(GOLDEN / name, run / name)
    result = CliRunner().invoke(main, ["verify", str(run / "design.npz"), "--refine", "1000"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "error: --refine 1000: 1000 is over the limit of 16; raise it with DESIGNER_MAX_REFINE if this is meant"]
    arrays = golden_arrays()
    arrays["test_indices"] = arrays["test_indices"] + 10**6
    (run / "design.npz").write_bytes(npz(arrays))
    result = CliRunner().invoke(main, ["verify", str(run / "design.npz")])
    assert result.exit_code == 2, result.output
    assert "test_indices reach 1000" in result.output and "another corpus than the design's?" in result.output
    assert not list(run.glob("verify-*"))
