"""Every config hole the hardening review found is one line naming the key (or, at run time, the run)."""
from __future__ import annotations

import contextlib
import os
import signal
import threading

import numpy as np
import pytest

from designer.config import load_config, parse_config
from designer.data import Corpus
from designer.errors import ConfigError, DesignerError
from designer.runner import make_splits
from tests.conftest import tiny_data, write_toml


def refused(changes: dict, needle: str) -> str:
    data = tiny_data()
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        if section in ("probes", "sources"):
            index, key = key.split(":")
            data[section][int(index)][key] = value
        else:
            data.setdefault(section, {})[key] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data, "tiny.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("tiny.toml: ") and needle in message, message
    return message


@pytest.mark.parametrize("changes, needle", [
    ({"design_region.keepout_cells": -5}, "design_region.keepout_cells: expected 0 or more cells, got -5"),
    ({"probes.1:x_cells": 37, "probes.1:y_cells": 12}, "probes[1]: at (37, 12) with radius 1 it overlaps probes[0]"),
    ({"probes.0:x_cells": 10, "probes.0:y_cells": 18}, "probes[0]: at (10, 18) it covers sources[0]"),
    ({"training.lr_decay": -0.9}, "training.lr_decay: expected a positive factor per epoch, got -0.9"),
    ({"constraints.indicator_weight": -1.0}, "constraints.indicator_weight: expected 0 or more, got -1.0"),
    ({"grid.absorber_order": -2.0}, "grid.absorber_order: expected a positive polynomial order, got -2.0"),
    ({"grid.absorber_order": 0.0}, "grid.absorber_order"),
    ({"nonlinearity.saturable_absorption": -10.0}, "nonlinearity.saturable_absorption: expected 0 or more"),
    ({"simulation.time_scale": 1e300}, "simulation.time_scale: at time_scale 1e+300 the wave moves"),
    ({"training.folds": 9}, "training.folds: expected at most one fold per speaker (4 per sex x 2 sexes), got 9"),
    ({"training.seed": -1}, "training.seed: expected a seed in [0, 2**63), got -1"),
    ({"data.seed": 2**64}, "data.seed: expected a seed in [0, 2**63)"),
    ({"data.sample_rate_hz": 1e30}, "data.sample_rate_hz: 1e+30 is over the limit of 1000000"),
    ({"grid.nx": 10**9}, "grid.nx: 1000000000 x 36 = 3.6e+10 is over the limit of 25000000"),
    ({"data.window_samples": 10**9}, "data.window_samples: 1e+09 is over the limit of 1000000"),
    ({"data.speakers_per_sex": 10**9}, "data.speakers_per_sex: 1e+09 is over the limit of 10000"),
    ({"training.epochs": 10**9}, "training.epochs"),
])
def test_a_hole_is_one_line_naming_the_key(changes, needle):
    refused(changes, needle)


def test_the_transit_estimate_names_the_time_scale_that_would_work():
    message = refused({"simulation.time_scale": 1e14}, "expected time_scale <=")
    bound = float(message.rsplit("<= ", 1)[1])
    data = tiny_data()
    data["simulation"] = {"time_scale": bound * 0.99}
    parse_config(data, "tiny.toml")  # just inside: accepted


def test_a_cap_can_be_raised_explicitly(monkeypatch):
    refused({"data.speakers_per_sex": 20_000}, "DESIGNER_MAX_SPEAKERS_PER_SEX")
    monkeypatch.setenv("DESIGNER_MAX_SPEAKERS_PER_SEX", "50000")
    data = tiny_data()
    data["data"]["speakers_per_sex"] = 20_000
    assert parse_config(data, "tiny.toml").data.speakers_per_sex == 20_000


def test_more_folds_than_speakers_in_a_loaded_corpus_is_one_line_before_training():
    data = tiny_data()
    data["data"].update(corpus="hillenbrand", path="/corpus")
    data["training"]["folds"] = 9
    cfg = parse_config(data, "tiny.toml")
    speakers = np.repeat([f"{s}{i:02d}" for s in "mw" for i in range(4)], 3)
    corpus = Corpus(tuple(np.zeros(10) for _ in speakers), np.tile([0, 1, 2], 8), speakers, ("ae", "ei", "iy"),
                    10000.0)
    with pytest.raises(DesignerError) as info:
        make_splits(cfg, corpus)
    assert str(info.value) == "tiny.toml: training.folds = 9: corpus has only 8 groups; expected folds <= 8"
    cfg8 = parse_config({**data, "training": {**data["training"], "folds": 8}}, "tiny.toml")
    assert len(make_splits(cfg8, corpus)) == 8


@contextlib.contextmanager
def deadline(seconds: int):
    def expire(*_):
        raise TimeoutError("the config reader hung")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/proc/self/fd"])
def test_a_special_config_path_is_refused_before_reading(path):
    with deadline(10), pytest.raises(ConfigError, match="not a regular file"):
        load_config(path)


def test_a_fifo_config_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(ConfigError, match=f"{fifo}: not a regular file"):
        load_config(fifo)


def test_a_writer_holding_the_fifo_open_does_not_hang_it_either(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True)
    writer.start()
    with deadline(10), pytest.raises(ConfigError, match="not a regular file"):
        load_config(fifo)
    with contextlib.suppress(OSError):
        open(fifo, "rb").close()  # release the writer


@pytest.mark.parametrize("text", [b"x = " + b"[" * 5000 + b"]" * 5000, b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000])
def test_deeply_nested_toml_is_one_line(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_bytes(text + b"\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)


def test_an_oversized_config_is_refused_before_parsing(tmp_path):
    path = write_toml(tmp_path / "big.toml", tiny_data())
    with open(path, "a") as f:
        f.write("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="over the limit of 1048576 bytes"):
        load_config(path)
