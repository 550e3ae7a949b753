"""Readouts: how the probes' time-integrated powers name a class.

A linear wave device maps a signal x to probe powers
P_j = sum_f |X(f)|^2 |H_j(f)|^2 (Parseval; Hughes et al., Science Advances
2019): each P_j is a non-negative weighting of the input's power spectrum.
The readout is the last, fixed step from the P_j to a class. It has no
trained parameters: what is trained is the printed medium, and what is
measured on the part is exactly what training optimised.

``intensity``  one probe per class; the class is the probe with the largest
               power, and the class probabilities are P_k / sum_j P_j (the
               paper's readout). The score of class k is a non-negative
               weighting of the spectrum, so a class can only be told by
               energy it gains, never by energy it lacks.

``ratio``      two probes per class, k+ and k-; the class is the one whose
               pair has the largest power ratio P_k+ / P_k-, and the class
               probabilities are softmax_k(log P_k+ - log P_k-). A ratio of
               two spectral weightings can reward one band and penalise
               another, and it is independent of the signal's level, as
               the intensity readout is. In hardware it is two detectors per
               class and a level difference in dB (a log detector pair), the
               same class of electronics as comparing the detectors of the
               intensity readout.

Probe order: ``ports(classes)`` names the probes a readout needs, in the
order the config's [[probes]] (or the automatic placement) must give them:
one per class for intensity; for ratio, every ``k+`` in class order, then
every ``k-``. Placed in a row, the two probes of a pair then stand half the
row apart: two probes a few cells apart, far less than a wavelength, hear
nearly the same field, and their ratio could not tell anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Readout", "READOUTS", "get_readout", "readout_for", "probe_labels"]


def _log(power: "torch.Tensor") -> "torch.Tensor":
    import torch

    return torch.log(power.clamp_min(torch.finfo(power.dtype).tiny))


@dataclass(frozen=True)
class Readout:
    """A registry entry: the probes per class and the map from probe powers (B, P) to log-probabilities (B, C).

    torch is imported where a method needs it, so the CLI can list readouts without loading it.
    """

    name: str
    ports_per_class: int
    suffixes: tuple[str, ...]
    summary: str
    sharpness: float = 1.0  # the factor on the scores in the loss's softmax ([readout] sharpness)

    def ports(self, classes: tuple[str, ...]) -> tuple[str, ...]:
        """Probe names in probe order for ``classes``: every class with the first suffix, then with the next."""
        return tuple(f"{c}{s}" for s in self.suffixes for c in classes)

    def probes_for(self, classes: int) -> int:
        return classes * self.ports_per_class

    def scores(self, power: torch.Tensor) -> torch.Tensor:
        """(B, C) class scores from probe powers (B, P); the class is their argmax."""
        if self.ports_per_class == 1:
            return _log(power)
        lp = _log(power)
        c = power.shape[-1] // 2
        return lp[..., :c] - lp[..., c:]

    def log_probabilities(self, power: torch.Tensor) -> torch.Tensor:
        """(B, C) log class probabilities from probe powers (B, P)."""
        import torch

        if self.ports_per_class == 1 and self.sharpness == 1.0:
            # log(P_k / sum P), as the intensity readout has always computed it
            power = power.clamp_min(torch.finfo(power.dtype).tiny)
            return torch.log(power) - torch.log(power.sum(-1, keepdim=True))
        return torch.log_softmax(self.sharpness * self.scores(power), dim=-1)

    def predict(self, power) -> np.ndarray:
        """(B,) class indices from probe powers (B, P), numpy or torch."""
        import torch

        p = torch.as_tensor(np.asarray(power) if not isinstance(power, torch.Tensor) else power)
        return self.scores(p.to(torch.float64)).argmax(-1).cpu().numpy()


READOUTS: dict[str, Readout] = {
    "intensity": Readout("intensity", 1, ("",), "one probe per class, the largest power wins"),
    "ratio": Readout("ratio", 2, ("+", "-"), "two probes per class, the largest power ratio P_k+ / P_k- wins"),
}


def get_readout(name: str) -> Readout:
    try:
        return READOUTS[name]
    except KeyError:
        raise ValueError(f"readout {name!r}: expected one of {', '.join(READOUTS)}") from None


def readout_for(cfg) -> Readout:
    """The readout a config names ([readout] kind), with its loss sharpness."""
    import dataclasses

    readout = get_readout(cfg.readout.kind)
    sharpness = getattr(cfg.readout, "sharpness", 1.0)
    return readout if sharpness == 1.0 else dataclasses.replace(readout, sharpness=float(sharpness))


def probe_labels(classes: tuple[str, ...], probes: int) -> tuple[str, ...]:
    """Names for ``probes`` probes of a run with ``classes``: the ports of the readout with that many probes per class."""
    for r in READOUTS.values():
        if r.probes_for(len(classes)) == probes:
            return r.ports(tuple(classes))
    return tuple(f"probe {p}" for p in range(probes))
