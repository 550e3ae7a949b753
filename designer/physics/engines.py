"""Engine registries: every engine takes the same arguments and returns the same results.

``ENGINES[name](medium, source_weights, inputs, probe_weights, record_every=0, *, lengths=None)``
returns the probe powers (B, P) and the frames or None (:func:`designer.physics.wave.simulate`).
``TRACE_ENGINES[name](medium, source_weights, inputs, cells)`` returns the field at ``cells``
(C, ndim) after every step, (B, T, C) (:func:`designer.physics.wave.simulate_traces`).
The "impulse" engine (:mod:`designer.physics.impulse`) serves a linear medium's whole batch
from one traced impulse; "auto" picks it for linear batches and the fused engine otherwise.
``gates=G`` > 1 (gated detection, :mod:`designer.readout`) returns (B, G P) powers; only the
impulse engine computes them ("auto" picks it), the others refuse the keyword.
"""
from __future__ import annotations

import torch

from . import wave

__all__ = ["ENGINES", "TRACE_ENGINES", "get_engine", "resolve_device"]


def _ungated(kwargs: dict) -> dict:
    kwargs.pop("gate_delay", None)
    if kwargs.pop("gates", 1) > 1:
        raise ValueError("gated probe powers ([readout] gates) come from one traced impulse: "
                         "use the impulse or auto engine")
    return kwargs


def _reference(medium, *args, **kwargs):
    return wave.simulate(medium, *args, **_ungated(kwargs))


def _fused(medium, *args, **kwargs):
    _ungated(kwargs)
    if medium.ndim == 3:
        from .fused3d import simulate_fused3d as simulate_fused
    else:
        from .fused import simulate_fused

    return simulate_fused(medium, *args, **kwargs)


def _fused_traces(medium, *args, **kwargs):
    if medium.ndim == 3:
        from .fused3d import simulate_traces_fused3d as simulate_traces_fused
    else:
        from .fused import simulate_traces_fused

    return simulate_traces_fused(medium, *args, **kwargs)


def _impulse(medium, *args, **kwargs):
    from .impulse import simulate_impulse

    traces = TRACE_ENGINES["fused"] if _fused_available() else TRACE_ENGINES["reference"]
    return simulate_impulse(medium, *args, trace_engine=traces, **kwargs)


def _auto(medium, source_weights, inputs, probe_weights, record_every=0, **kwargs):
    """The impulse engine for a linear medium and a batch (one simulation serves all), or gated powers; fused otherwise."""
    if medium.linear and not record_every and (inputs.shape[0] > 1 or kwargs.get("gates", 1) > 1):
        return _impulse(medium, source_weights, inputs, probe_weights, record_every, **kwargs)
    engine = _fused if _fused_available() else _reference
    return engine(medium, source_weights, inputs, probe_weights, record_every, **kwargs)


ENGINES = {"reference": _reference, "fused": _fused, "impulse": _impulse}
TRACE_ENGINES = {"reference": wave.simulate_traces, "fused": _fused_traces}


def _fused_available() -> bool:
    try:
        from . import fused  # noqa: F401
    except ImportError:
        return False
    return True


def get_engine(name: str, *, traces: bool = False):
    """The simulate function for ``name`` (its traces counterpart when ``traces``).

    'auto' picks per call (impulse for linear batches, else fused); for traces it is the fused engine.
    """
    if name == "auto":
        if not traces:
            return _auto
        name = "fused" if _fused_available() else "reference"
    registry = TRACE_ENGINES if traces else ENGINES
    if name not in registry:
        raise ValueError(f"unknown engine {name!r}; expected one of: auto, {', '.join(registry)}")
    return registry[name]


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when available; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from ..errors import DesignerError

        raise DesignerError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)
