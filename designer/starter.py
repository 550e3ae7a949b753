"""A commented starter config for ``designer init``: for a template, or fitted to a dataset."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from templates import load_template

__all__ = ["starter_config", "DataPlan", "plan_for_data"]

WHOLE_SIGNALS_MAX = 2000
"""Signals up to this many samples are trained whole; longer ones in centred windows."""
WINDOW_SAMPLES = 1000
CELLS_PER_PROBE = 4
"""Output-side cells per probe: probes of radius 1.5 with a clear cell between them."""


@dataclass(frozen=True)
class DataPlan:
    """What ``designer init --data`` read from a dataset and chose for it."""

    source: str
    path: str
    classes: tuple[str, ...]
    sample_rate_hz: float
    window_samples: int
    given_split: bool
    samples: int
    min_length: int
    max_length: int
    groups: int


def plan_for_data(path: Path, config_dir: Path) -> DataPlan:
    """Read the dataset at ``path`` (any source but synthetic) and choose the data settings for it."""
    from .config import DataSpec
    from .data import infer_source, load_corpus, source_classes

    path = Path(path).resolve()
    source = infer_source(path)
    spec = DataSpec(source=source, path=str(path))
    spec = dataclasses.replace(spec, classes=source_classes(spec))
    corpus = load_corpus(spec)
    lengths = corpus.lengths
    window = 0 if lengths.max() <= WHOLE_SIGNALS_MAX else WINDOW_SAMPLES
    try:
        shown = path.relative_to(config_dir.resolve())
    except ValueError:
        shown = path
    return DataPlan(source, str(shown), corpus.classes, spec.sample_rate_hz, window, corpus.is_test is not None,
                    len(lengths), int(lengths.min()), int(lengths.max()), len(set(corpus.groups.tolist())))


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a TOML basic string: quotes and backslashes escaped


def _toml_list(items) -> str:
    return "[" + ", ".join(_toml_string(c) for c in items) + "]"


def _data_section(plan: DataPlan | None) -> str:
    if plan is None:
        return '''[data]
source = "synthetic"           # synthetic (built in) | hillenbrand | folders | arrays | ucr (the last four need path)
path = ""                      # relative to this file, or package:NAME/sub/path for files an installed package ships
classes = ["ae", "ei", "iy"]   # class names in probe order (free text; vowel codes for synthetic / hillenbrand)
sexes = ["m", "w"]
sample_rate_hz = 10000.0       # one sample per time step; every source is resampled to it
window_samples = 1000          # centred training windows (0: whole signals); tests use whole signals
ring_down_samples = -1         # zero input after each signal; -1: one transit time when signals are short
speakers_per_sex = 20          # synthetic corpus only
test_fraction = 0.25           # held-out groups (speakers) when folds = 0
seed = 0
'''
    split = ("the archive's own train/test split is used (folds must stay 0)" if plan.given_split
             else f"{plan.groups} groups; test_fraction of them held out")
    window_note = "whole signals" if plan.window_samples == 0 else "centred training windows"
    return f'''[data]                         # read by `designer init --data`: {plan.samples} samples, {len(plan.classes)} classes,
                               # lengths {plan.min_length}..{plan.max_length} samples; {split}
source = "{plan.source}"
path = {_toml_string(plan.path)}
classes = {_toml_list(plan.classes)}
sample_rate_hz = {plan.sample_rate_hz:.1f}       # one sample per time step{"" if plan.source in ("folders", "hillenbrand") else " (the files give no rate)"}
window_samples = {plan.window_samples}             # {window_note}; tests use whole signals
ring_down_samples = -1         # zero input after each signal; -1: one transit time when signals are short
test_fraction = 0.25
seed = 0
'''


def _probes_section(nx: int, ny: int, region: tuple[int, int, int, int], source: tuple[int, int], edge_cells: int,
                    classes: tuple[str, ...], readout, template) -> str:
    from .config import GridSpec, RegionSpec, SourceSpec
    from .placement import lid_port_rule, place_probes

    x0, x1, y0, y1 = region
    probes = place_probes(GridSpec(nx, ny, absorber_cells=15), RegionSpec(x0, x1, y0, y1), (SourceSpec(*source),),
                          readout.ports(classes), edge_cells, lid_port_rule(template))
    what = "one probe per class" if readout.ports_per_class == 1 else "two probes per class (every k+, then every k-)"
    blocks = []
    for i, p in enumerate(probes):
        head = f"[[probes]]                     # {what}, in the order of [data] classes" if i == 0 \
            else "[[probes]]"
        blocks.append(f'{head}\nname = {_toml_string(p.name)}\nx_cells = {p.x_cells}\ny_cells = {p.y_cells}\n'
                      f'radius_cells = {p.radius_cells:g}\n')
    return "\n".join(blocks)


def starter_config(template_name: str, plan: DataPlan | None = None, readout: str = "intensity") -> str:
    """A runnable config for ``template_name`` with every section explained (fitted to ``plan``'s data).

    readout: a key of ``designer.readout.READOUTS``; it sets the probes per class.
    """
    from .readout import get_readout

    r = get_readout(readout)
    t = load_template(template_name)
    u = t.length_unit
    h = t.to_unit(t.cell_size_m)
    classes = plan.classes if plan else ("ae", "ei", "iy")
    height = max(48, CELLS_PER_PROBE * r.probes_for(len(classes)))
    # A frame around the whole domain stands outside the absorbing layer: shift everything inward.
    p = t.printing
    f = max(1, round(p.frame_width_m / t.cell_size_m)) if p.frame_width_m > 0 and p.frame_around == "domain" else 0
    nx, ny = 130 + 2 * f, height + 32 + 2 * f
    region = (26 + f, 104 + f, 16 + f, 16 + height + f)
    source = (20 + f, ny // 2)
    folds_note = "0: the archive's split" if plan and plan.given_split else "0: one group-aware split"
    return f'''# designer config, starter for template "{t.name}"
# ({t.description}; cell {h:g} {u}, minimum feature {t.to_unit(t.min_solid_m):g} {u} solid,
# {t.to_unit(t.min_void_m):g} {u} void.) Run:  designer optimize THIS_FILE
template = "{t.name}"

[grid]                         # the template fixes the cell size, the config the grid
nx = {nx}                       # cells along x ({nx * h:g} {u})
ny = {ny}                        # cells along y ({ny * h:g} {u})
absorber_cells = 15            # width of the absorbing layer on every side
absorber_strength = 0.5        # peak damping per time step (at the template's time step)
absorber_profile = "polynomial"  # polynomial | cosine
absorber_order = 2.0

[design_region]                # cells [x0, x1) x [y0, y1) whose material is trained
x0_cells = {region[0]}
x1_cells = {region[1]}
y0_cells = {region[2]}
y1_cells = {region[3]}
keepout_cells = 2              # background margin kept around sources and probes

[[sources]]                    # kind = "point", or "line" with x_end_cells / y_end_cells
name = "input"
kind = "point"
x_cells = {source[0]}
y_cells = {source[1]}

# Probes: leave out every [[probes]] table to have one placed per class along the output side.
{_probes_section(nx, ny, region, source, 15 + f, classes, r, t)}
[readout]                      # how the probes' powers name the class (see the README's Readouts)
kind = "{r.name}"{" " * (22 - len(r.name))}# intensity: the largest probe power | ratio: the largest P_k+ / P_k- of a pair

[simulation]
engine = "auto"                # auto | fused | reference
dtype = "float32"              # float32 | float64
device = "auto"                # auto | cpu | cuda
time_scale = 0.0               # 0 takes the template's ({t.time_scale:g})
steps_per_sample = 0           # 0 takes the template's ({t.steps_per_sample}); dt = 1 / (sample_rate_hz * time_scale * steps_per_sample)
preemphasis = 0.0              # drive electronics' y[n] = x[n] - a x[n-1] before the template's chain (speech: 0.97)

[nonlinearity]                 # the paper's nonlinearities, acting only where rho > 0
kerr = 0.0                     # Courant-number change per unit field^2
saturable_absorption = 0.0     # peak damping per step of the saturable absorber
saturation_amplitude = 1.0

{_data_section(plan)}
[training]
epochs = 24
batch_size = 18
learning_rate = 0.3            # Adam step on the latent field (logits of the density)
lr_decay = 0.92                # learning rate multiplier per epoch
folds = 0                      # {folds_note}; k >= 2: k-fold cross-validation
fold = -1                      # with folds: only this fold (-1: all)
seed = 0
init = "uniform"               # uniform | random | half
init_value = 0.5
select_epochs = 1              # ship the design of the last N epochs with the lowest fabricated training loss
restarts = 1                   # seeds per fold; ships the one with the lowest fabricated training loss

[constraints]
method = "robust"              # none | robust | indicator | both
filter = "conic"               # conic | gaussian
beta_start = 4.0               # projection sharpness, multiplied by beta_factor
beta_factor = 2.0              #   every beta_every_epochs epochs up to beta_max;
beta_every_epochs = 4          #   the exported design is the hard threshold (beta = inf)
beta_max = 128.0
rule_margin = 1.5              # the filter aims at rule x margin; the binary design guarantees the rule
fabricated_epochs = 0          # last epochs trained straight through the exported geometry
indicator_weight = 1.0
levels = 1                     # wall heights: 1 full-height walls; 2 or 4 on acoustic-channel: a relief (STL only)
'''
