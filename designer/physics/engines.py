"""Engine registry: every engine takes the same arguments and returns the same results."""
from __future__ import annotations

import torch

from . import wave

__all__ = ["ENGINES", "get_engine", "resolve_device"]


def _fused(medium, *args, **kwargs):
    if medium.ndim == 3:
        from .fused3d import simulate_fused3d as simulate_fused
    else:
        from .fused import simulate_fused

    return simulate_fused(medium, *args, **kwargs)


ENGINES = {"reference": wave.simulate, "fused": _fused}


def _fused_available() -> bool:
    try:
        from . import fused  # noqa: F401
    except ImportError:
        return False
    return True


def get_engine(name: str):
    """The simulate function for ``name``; 'auto' takes the fused engine when it is installed."""
    if name == "auto":
        name = "fused" if _fused_available() else "reference"
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; expected one of: auto, {', '.join(ENGINES)}")
    return ENGINES[name]


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when available; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from ..errors import DesignerError

        raise DesignerError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)
