"""A tiny config on the carrier template, small enough to solve in milliseconds per frequency."""
from __future__ import annotations

from tests.conftest import tiny_data


def carrier_data() -> dict:
    data = tiny_data()
    data["template"] = "photonic-soi-carrier"
    data["data"]["ring_down_samples"] = 0
    return data
