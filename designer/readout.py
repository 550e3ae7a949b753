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

Gated detection (``[readout] gates = G``). Each probe's integration time,
from the first arrival D (before it no probe can hear the source,
:func:`designer.data.timing.first_arrival_samples`) to the end L of the
sample and its ring-down, is split into G equal consecutive gates, gate g
covering the steps n with g (L - D) / G <= n - D < (g + 1) (L - D) / G, each
integrated on its own (a boxcar integrator per gate, or one detector whose
output is sampled G times). The engines then return G powers per probe,
gate-major: power[:, g P + p] is probe p's power in gate g. A class's score
is the mean over the gates of its score in each, s_k = (1/G) sum_g
s_k(P_{., g}): for the ratio readout the mean of the pair's log ratios, the
log of the geometric mean of G ratios (the mean keeps the scores' scale, and
so the loss's, that of one gate). A linear, time-invariant part weighs only the input's power
spectrum; the gates let it weigh the spectrum of each part of the signal,
so a class can be told by *when* its energy arrives. G = 1 is the readout
above, unchanged.

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
    gates: int = 1  # consecutive integration gates per probe ([readout] gates)

    def ports(self, classes: tuple[str, ...]) -> tuple[str, ...]:
        """Probe names in probe order for ``classes``: every class with the first suffix, then with the next."""
        return tuple(f"{c}{s}" for s in self.suffixes for c in classes)

    def probes_for(self, classes: int) -> int:
        return classes * self.ports_per_class

    def scores(self, power: torch.Tensor) -> torch.Tensor:
        """(B, C) class scores from probe powers (B, G P), gate-major; the class is their argmax."""
        lp = _log(power)
        if self.gates > 1:
            lp = lp.reshape(*lp.shape[:-1], self.gates, lp.shape[-1] // self.gates)
        if self.ports_per_class == 1:
            per_gate = lp
        else:
            c = lp.shape[-1] // 2
            per_gate = lp[..., :c] - lp[..., c:]
        return per_gate.mean(-2) if self.gates > 1 else per_gate

    def log_probabilities(self, power: torch.Tensor) -> torch.Tensor:
        """(B, C) log class probabilities from probe powers (B, G P)."""
        import torch

        if self.ports_per_class == 1 and self.sharpness == 1.0 and self.gates == 1:
            # log(P_k / sum P), as the intensity readout has always computed it
            power = power.clamp_min(torch.finfo(power.dtype).tiny)
            return torch.log(power) - torch.log(power.sum(-1, keepdim=True))
        return torch.log_softmax(self.sharpness * self.scores(power), dim=-1)

    def predict(self, power) -> np.ndarray:
        """(B,) class indices from probe powers (B, G P), numpy or torch."""
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
    """The readout a config names ([readout] kind), with its loss sharpness and gates."""
    import dataclasses

    readout = get_readout(cfg.readout.kind)
    sharpness = float(getattr(cfg.readout, "sharpness", 1.0))
    gates = int(getattr(cfg.readout, "gates", 1))
    if sharpness == 1.0 and gates == 1:
        return readout
    return dataclasses.replace(readout, sharpness=sharpness, gates=gates)


def probe_labels(classes: tuple[str, ...], probes: int) -> tuple[str, ...]:
    """Names for ``probes`` probes of a run with ``classes``: the ports of the readout with that many probes per class."""
    for r in READOUTS.values():
        if r.probes_for(len(classes)) == probes:
            return r.ports(tuple(classes))
    return tuple(f"probe {p}" for p in range(probes))
