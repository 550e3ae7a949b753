"""Length-scale constraints: filters, projection, robust pipeline and measurement.

Pipeline (:mod:`constraints.pipeline`): latent ``theta`` -> sigmoid -> fixed
regions -> filter -> tanh projection -> fixed regions; the fabricated design
is :func:`binary_density`, which meets :class:`LengthScaleTargets` as
reported by :func:`measure`.
"""

from constraints.continuation import beta_schedule
from constraints.filters import conic_filter, gaussian_filter
from constraints.lengthscale import LengthScaleTargets, indicator_penalty, robust_parameters
from constraints.measure import Measurement, measure
from constraints.pipeline import FILTERS, PipelineSpec, binary_density, density, robust_densities, spec_for_targets
from constraints.projection import staircase_projection, tanh_projection

__all__ = [
    "FILTERS",
    "LengthScaleTargets",
    "Measurement",
    "PipelineSpec",
    "beta_schedule",
    "binary_density",
    "conic_filter",
    "density",
    "gaussian_filter",
    "indicator_penalty",
    "measure",
    "robust_densities",
    "robust_parameters",
    "spec_for_targets",
    "staircase_projection",
    "tanh_projection",
]
