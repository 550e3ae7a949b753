"""Progress output: whole lines in a log, nothing from a bar off a terminal, silence when quiet."""
from __future__ import annotations

import io

import torch

from designer.physics import Medium, get_engine
from designer.progress import Progress, as_progress, compile_notice


def test_a_log_gets_whole_lines_and_no_bar():
    log = io.StringIO()
    progress = Progress(log)
    assert not progress.live
    with progress.bar(5, "epoch 1/2") as bar:
        for _ in range(5):
            bar.update(loss="0.5")
        bar.note("evaluating")
        progress.line("inside")
    progress.line("epoch 1: done")
    assert log.getvalue() == "inside\nepoch 1: done\n"


def test_quiet_prints_nothing():
    log = io.StringIO()
    progress = Progress(log, quiet=True)
    with progress.bar(2, "x") as bar:
        bar.update()
    progress.line("hello")
    assert log.getvalue() == ""


def test_a_live_bar_redraws_and_clears():
    screen = io.StringIO()
    progress = Progress(screen, live=True)
    with progress.bar(3, "epoch 1/1") as bar:
        for _ in range(3):
            bar.update(loss="0.7")
    progress.line("epoch 1: summary")
    text = screen.getvalue()
    assert "\r" in text and "epoch 1/1" in text and text.endswith("epoch 1: summary\n")


def test_the_python_api_echo_gets_whole_lines():
    lines = []
    progress = as_progress(lines.append)
    progress.line("band: ...")
    with progress.bar(2, "epoch") as bar:
        bar.update()
    assert lines == ["band: ...\n"] and as_progress(progress) is progress
    assert as_progress(None).quiet


def test_only_the_numba_engines_announce_compilation_until_they_ran():
    assert compile_notice("reference", torch.device("cpu")) is None
    assert compile_notice("fused", torch.device("cuda")) is None
    medium = Medium(courant=torch.full((12, 10), 0.3), damping=torch.zeros(12, 10))
    source = torch.zeros(12, 10)
    source[3, 5] = 1.0
    get_engine("fused")(medium, source, torch.randn(1, 8), source[None])  # the kernels are loaded now
    assert compile_notice("fused", torch.device("cpu")) is None
