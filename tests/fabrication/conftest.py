"""Shared specs for the fabrication tests."""

from __future__ import annotations

import pytest
from .fab_designs import PROBES, SOURCES

from fabrication import GdsLayers, Layout, Process


@pytest.fixture
def soi_layout() -> Layout:
    """Photonic template: 50 nm cells, um."""
    return Layout(0.05, "um", (48, 40), (8, 4, 40, 36), SOURCES, PROBES)


@pytest.fixture
def soi_process() -> Process:
    return Process(0.10, 0.10, 0.001, GdsLayers(), "DESIGNER_DEVICE", 0.22, 0.0, "design_region", False)


@pytest.fixture
def print_layout() -> Layout:
    """Acoustic template: 0.5 mm cells, mm."""
    return Layout(0.5, "mm", (48, 40), (8, 4, 40, 36), SOURCES, PROBES)


@pytest.fixture
def print_process() -> Process:
    return Process(1.2, 1.0, 0.01, GdsLayers(), "DESIGNER_DEVICE", 3.0, 1.0, "design_region", True)
