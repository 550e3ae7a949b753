"""Caps on what a part file may declare, checked before a library allocates for it.

Defaults are generous for real parts; each can be raised for one command with
the environment variable ``DESIGNER_MAX_<NAME>`` (the scheme of
``designer.limits``), e.g. ``DESIGNER_MAX_GDS_POLYGONS=100000000``.
"""

from __future__ import annotations

import os

from fabrication.errors import FabricationReadError

__all__ = ["DEFAULTS", "cap"]

DEFAULTS = {
    "gds_bytes": 1 << 30,
    "gds_depth": 64,
    "gds_polygons": 20_000_000,
    "stl_bytes": 1 << 30,
}


def cap(name: str) -> int:
    """The cap ``name`` (a key of DEFAULTS), or its ``DESIGNER_MAX_<NAME>`` override."""
    env = f"DESIGNER_MAX_{name.upper()}"
    text = os.environ.get(env)
    if text is None:
        return DEFAULTS[name]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise FabricationReadError(f"{env}={text!r}: expected a positive integer.")
    return value
