"""`designer report` and `designer show` end to end on one tiny run (trained once for the module)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from designer.cli import main
from tests.conftest import tiny_data, write_toml

SINGLE_RUN_FIGURES = ("curves", "density", "binary", "wave-speed", "confusion", "fields", "probe-signals",
                      "export-design-gds", "export-design-stl", "verify")


def _invoke(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny trained run with a GDS and an STL export and one verify result beside it."""
    root = tmp_path_factory.mktemp("report")
    config = write_toml(root / "tiny.toml", tiny_data())
    out = root / "run"
    result = _invoke("optimize", config, "--out", out, "--epochs", "2", "--quiet")
    assert result.exit_code == 0, result.output
    for fmt in ("gds", "stl"):
        result = _invoke("export", out, "--format", fmt)
        assert result.exit_code == 0, result.output
    result = _invoke("verify", out / "design.gds", "--bias", "0.01", "--contrast", "-5")
    assert result.exit_code in (0, 1), result.output
    assert (out / "verify-design.gds.json").exists()
    return out


@pytest.fixture(scope="module")
def report(run) -> Path:
    result = _invoke("report", run)
    assert result.exit_code == 0, result.output
    return run / "report" / "report.html"


def assert_not_blank(png: Path, min_side: int = 400) -> None:
    """The PNG exists, is at least ``min_side`` pixels a side and has many distinct colours."""
    assert png.exists(), png
    image = imread(png)
    assert image.shape[0] >= min_side and image.shape[1] >= min_side, (png.name, image.shape)
    rgb = np.round(image[..., :3] * 255).astype(np.int64)
    assert len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])) >= 8, png.name


def image_sources(html: Path) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', html.read_text())


def test_report_writes_every_figure(report):
    for name in SINGLE_RUN_FIGURES:
        assert_not_blank(report.parent / f"{name}.png")


def test_report_html_references_only_files_beside_it(report):
    text = report.read_text()
    sources = image_sources(report)
    assert {f"{name}.png" for name in SINGLE_RUN_FIGURES} <= set(sources)
    for src in sources:
        assert "/" not in src and "\\" not in src, src
        assert (report.parent / src).is_file(), src
    assert not re.search(r"https?://", text)
    assert "<link" not in text and "<script" not in text
    assert "binary test accuracy" in text and "designer verify results" in text


def test_report_of_a_cross_validated_run(run, tmp_path):
    cv = tmp_path / "cv"
    for k in range(2):
        fold = cv / f"fold-{k}"
        fold.mkdir(parents=True)
        for name in ("design.npz", "design.json"):
            shutil.copy(run / name, fold / name)
    meta = json.loads((cv / "fold-1" / "design.json").read_text())
    for record in meta["metrics"]["history"]:
        record["test_accuracy"] = min(1.0, record["test_accuracy"] + 0.1)
    (cv / "fold-1" / "design.json").write_text(json.dumps(meta))
    (cv / "summary.json").write_text(json.dumps({"folds": [meta["metrics"]["final"]] * 2}))

    result = _invoke("report", cv, "--no-fields")
    assert result.exit_code == 0, result.output
    html = cv / "report" / "report.html"
    sources = image_sources(html)
    for name in ("curves-folds", "confusion-folds", "fold-0-curves", "fold-1-binary", "fold-1-confusion"):
        assert f"{name}.png" in sources, name
        assert_not_blank(cv / "report" / f"{name}.png")
    assert all((html.parent / s).is_file() for s in sources)
    assert "mean ± std" in html.read_text()


@pytest.mark.parametrize("name", ["design.npz", "design.gds", "design.stl"])
def test_show_previews_a_part(run, tmp_path, name):
    out = tmp_path / f"{name}.png"
    result = _invoke("show", run / name, "--out", out)
    assert result.exit_code == 0, result.output
    assert_not_blank(out)


def test_show_defaults_to_file_png_beside_it(run):
    result = _invoke("show", run / "design.gds")
    assert result.exit_code == 0, result.output
    assert_not_blank(run / "design.gds.png")


def test_show_finds_the_run_with_run_option(run, tmp_path):
    part = shutil.copy(run / "design.gds", tmp_path / "part.gds")
    result = _invoke("show", part)
    assert result.exit_code == 2 and "--run" in result.output
    result = _invoke("show", part, "--run", run)
    assert result.exit_code == 0, result.output
    assert_not_blank(tmp_path / "part.gds.png")


@pytest.mark.parametrize("args", [("report", "missing-run"), ("show", "missing.gds"), ("report",)])
def test_missing_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = _invoke(*args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")


def test_unreadable_verify_result_is_reported(run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run, broken, ignore=shutil.ignore_patterns("report", "*.png"))
    (broken / "verify-design.gds.json").write_text("{not json")
    result = _invoke("report", broken, "--no-fields")
    assert result.exit_code == 2 and "verify-design.gds.json" in result.output


def test_report_html_renders_in_headless_chromium(report, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium binary on PATH")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
                    report.resolve().as_uri()], capture_output=True, timeout=120, check=False)
    assert_not_blank(shot)
    rgb = imread(shot)[..., :3]
    # Text and tables are grey; only the figures paint many saturated pixels.
    saturated = (rgb.max(-1) - rgb.min(-1)) > 0.3
    assert saturated.sum() > 2000
