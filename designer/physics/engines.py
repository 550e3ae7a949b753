"""Engine registry: every engine takes the same arguments and returns the same results."""
from __future__ import annotations

import torch

from . import wave

__all__ = ["ENGINES", "get_engine", "resolve_device"]


def _fused(*args, **kwargs):
    from .fused import simulate_fused

    return simulate_fused(*args, **kwargs)


def _trace_engine():
    """The fastest engine that records probe traces with gradients: fused when built, else the reference."""
    try:
        from .fused import simulate_traces_fused
    except ImportError:
        return wave.simulate_traces
    return simulate_traces_fused


def _impulse(*args, **kwargs):
    from .impulse import simulate_impulse

    return simulate_impulse(*args, trace_engine=_trace_engine(), **kwargs)


def _auto(medium, source_weights, inputs, probe_weights, record_every=0, **kwargs):
    """The impulse engine for a linear medium and a batch (one simulation serves all); fused otherwise."""
    if medium.linear and not record_every and inputs.shape[0] > 1:
        return _impulse(medium, source_weights, inputs, probe_weights, record_every, **kwargs)
    engine = _fused if _fused_available() else wave.simulate
    return engine(medium, source_weights, inputs, probe_weights, record_every, **kwargs)


ENGINES = {"reference": wave.simulate, "fused": _fused, "impulse": _impulse}


def _fused_available() -> bool:
    try:
        from . import fused  # noqa: F401
    except ImportError:
        return False
    return True


def get_engine(name: str):
    """The simulate function for ``name``; 'auto' picks per call (impulse for linear batches, else fused)."""
    if name == "auto":
        return _auto
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
