"""`designer report` and `designer show` end to end on one tiny run (trained once for the module)."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread
from PIL import Image

from designer.cli import main
from tests.conftest import tiny_data, write_toml

SINGLE_RUN_FIGURES = ("curves", "density", "binary", "wave-speed", "confusion", "input-spectra", "spectrograms",
                      "transfer", "fields", "fields-smooth-fabricated", "snapshots", "probe-signals",
                      "export-design-gds", "export-design-stl", "part3d-design", "verify")


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


def embedded_figures(html: Path) -> dict[str, bytes]:
    """Figure id (the name of its copy beside the page) -> the image bytes embedded in the page."""
    pairs = re.findall(r'<figure id="([^"]+)"><img src="data:image/(?:png|gif);base64,([^"]+)"', html.read_text())
    return {name: base64.b64decode(data) for name, data in pairs}


def test_report_writes_every_figure(report):
    for name in SINGLE_RUN_FIGURES:
        assert_not_blank(report.parent / f"{name}.png")
    gif = Image.open(report.parent / "fields-animation.gif")
    assert gif.format == "GIF" and gif.n_frames > 10


def test_report_html_embeds_every_figure_and_references_nothing(report):
    text = report.read_text()
    figures = embedded_figures(report)
    assert {f"{name}.png" for name in SINGLE_RUN_FIGURES} | {"fields-animation.gif"} <= set(figures)
    assert len(figures) == len(image_sources(report))  # every image is embedded
    for name, data in figures.items():
        assert data == (report.parent / name).read_bytes(), name  # the page shows what was written beside it
        assert Image.open(io.BytesIO(data)).size[0] >= 400, name
    for attribute in re.findall(r'\s(?:src|href)="([^"]*)"', text):
        assert attribute.startswith(("data:", "#")), attribute
    assert not re.search(r"https?://|url\(|@import", text)
    assert "<link" not in text and "<script" not in text
    assert "binary test accuracy" in text and "designer verify results" in text and "SHA-256" in text
    assert "Design-rule check" in text


def test_report_shows_progress_and_keeps_quiet(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("report"))
    loud = _invoke("report", copy, "--no-fields")
    assert loud.exit_code == 0, loud.output
    stages = [line for line in loud.stderr.splitlines() if line.startswith("report: ")]
    assert len(stages) >= 4 and "\r" not in loud.stderr
    quiet = _invoke("report", copy, "--no-fields", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


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
    figures = embedded_figures(html)
    for name in ("curves-folds", "confusion-folds", "fold-0-curves", "fold-1-binary", "fold-1-confusion"):
        assert f"{name}.png" in figures, name
        assert_not_blank(cv / "report" / f"{name}.png")
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


def _screenshot(chromium: str, page: Path, shot: Path, profile: Path) -> np.ndarray:
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={shot}",
                    "--window-size=1200,6000", page.resolve().as_uri()], capture_output=True, timeout=120, check=False)
    assert_not_blank(shot)
    return imread(shot)[..., :3]


def _saturated(rgb: np.ndarray) -> int:
    """Pixels of strong colour: text and tables are grey, only the figures paint many."""
    return int(((rgb.max(-1) - rgb.min(-1)) > 0.3).sum())


def test_report_html_opens_alone_in_headless_chromium(report, tmp_path):
    """A copy of report.html alone in an empty folder shows its figures (a page whose images fail does not)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium binary on PATH")
    alone = tmp_path / "alone"
    alone.mkdir()
    page = Path(shutil.copy(report, alone / "report.html"))
    assert [p.name for p in alone.iterdir()] == ["report.html"]
    broken = alone.parent / "broken.html"
    broken.write_text(re.sub(r'src="data:[^"]+"', 'src="missing.png"', page.read_text()))
    shown = _saturated(_screenshot(chromium, page, tmp_path / "shot.png", tmp_path / "profile"))
    missing = _saturated(_screenshot(chromium, broken, tmp_path / "broken.png", tmp_path / "profile2"))
    assert shown > 20000 and shown > 20 * max(missing, 1)
