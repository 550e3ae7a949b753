"""Shared fixtures: a tiny but valid config, small enough to train in seconds."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

HILLENBRAND = Path(__file__).resolve().parents[2] / "shared" / "data" / "hillenbrand"

TINY = {
    "template": "photonic-soi",
    "grid": {"nx": 48, "ny": 36, "absorber_cells": 8},
    "design_region": {"x0_cells": 14, "x1_cells": 34, "y0_cells": 9, "y1_cells": 27, "keepout_cells": 1},
    "sources": [{"name": "input", "x_cells": 10, "y_cells": 18}],
    "probes": [
        {"name": "ae", "x_cells": 37, "y_cells": 12, "radius_cells": 1.0},
        {"name": "ei", "x_cells": 37, "y_cells": 18, "radius_cells": 1.0},
        {"name": "iy", "x_cells": 37, "y_cells": 24, "radius_cells": 1.0},
    ],
    "data": {"corpus": "synthetic", "speakers_per_sex": 4, "window_samples": 200, "sample_rate_hz": 10000.0},
    "training": {"epochs": 2, "batch_size": 8, "learning_rate": 0.05, "seed": 0},
    "constraints": {"beta_start": 4.0, "beta_every_epochs": 1},
}


def tiny_data() -> dict:
    """A fresh deep copy of the tiny config document."""
    return copy.deepcopy(TINY)


def tiny_channel_data() -> dict:
    """The tiny config on the acoustic-channel template: its frame around the domain needs a wider margin."""
    data = tiny_data()
    data["template"] = "acoustic-channel"
    data["grid"] = {"nx": 60, "ny": 44, "absorber_cells": 10}
    data["design_region"] = {"x0_cells": 21, "x1_cells": 41, "y0_cells": 13, "y1_cells": 31, "keepout_cells": 1}
    data["sources"] = [{"name": "input", "x_cells": 16, "y_cells": 22}]
    for probe, y in zip(data["probes"], (16, 22, 28)):
        probe.update(x_cells=45, y_cells=y)
    return data


def tiny_for(template: str) -> dict:
    """The tiny config document for ``template``."""
    if template == "acoustic-channel":
        return tiny_channel_data()
    data = tiny_data()
    data["template"] = template
    return data


def write_toml(path: Path, data: dict) -> Path:
    """Write a config document as TOML (enough of TOML for our configs)."""
    lines = []

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)  # a TOML basic string: quotes and backslashes escaped
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    for k, v in data.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and v and not isinstance(v[0], dict)):
            lines.append(f"{k} = {value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {value(vv)}" for kk, vv in item.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tiny_config_path(tmp_path) -> Path:
    return write_toml(tmp_path / "tiny.toml", tiny_data())
