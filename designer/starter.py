"""A commented starter config for ``designer init``."""
from __future__ import annotations

from templates import load_template

__all__ = ["starter_config"]


def starter_config(template_name: str) -> str:
    """A runnable config for ``template_name`` with every section explained."""
    t = load_template(template_name)
    u = t.length_unit
    h = t.to_unit(t.cell_size_m)
    # A frame around the whole domain stands outside the absorbing layer: shift everything inward.
    p = t.printing
    f = max(1, round(p.frame_width_m / t.cell_size_m)) if p.frame_width_m > 0 and p.frame_around == "domain" else 0
    return f'''# designer config, starter for template "{t.name}"
# ({t.description}; cell {h:g} {u}, minimum feature {t.to_unit(t.min_solid_m):g} {u} solid,
# {t.to_unit(t.min_void_m):g} {u} void.) Run:  designer optimize THIS_FILE
template = "{t.name}"

[grid]                         # the template fixes the cell size, the config the grid
nx = {130 + 2 * f}                       # cells along x ({(130 + 2 * f) * h:g} {u})
ny = {80 + 2 * f}                        # cells along y ({(80 + 2 * f) * h:g} {u})
absorber_cells = 15            # width of the absorbing layer on every side
absorber_strength = 0.5        # peak damping per time step
absorber_profile = "polynomial"  # polynomial | cosine
absorber_order = 2.0

[design_region]                # cells [x0, x1) x [y0, y1) whose material is trained
x0_cells = {26 + f}
x1_cells = {104 + f}
y0_cells = {16 + f}
y1_cells = {64 + f}
keepout_cells = 2              # background margin kept around sources and probes

[[sources]]                    # kind = "point", or "line" with x_end_cells / y_end_cells
name = "input"
kind = "point"
x_cells = {20 + f}
y_cells = {40 + f}

[[probes]]                     # one probe per class, in the order of [data] vowels
name = "ae"
x_cells = {110 + f}
y_cells = {28 + f}
radius_cells = 2.0

[[probes]]
name = "ei"
x_cells = {110 + f}
y_cells = {40 + f}
radius_cells = 2.0

[[probes]]
name = "iy"
x_cells = {110 + f}
y_cells = {52 + f}
radius_cells = 2.0

[simulation]
engine = "auto"                # auto | fused | reference
dtype = "float32"              # float32 | float64
device = "auto"                # auto | cpu | cuda
time_scale = 0.0               # 0 takes the template's ({t.time_scale:g})
steps_per_sample = 0           # 0 takes the template's ({t.steps_per_sample}); dt = 1 / (sample_rate_hz * time_scale * steps_per_sample)

[nonlinearity]                 # the paper's nonlinearities, acting only where rho > 0
kerr = 0.0                     # Courant-number change per unit field^2
saturable_absorption = 0.0     # peak damping per step of the saturable absorber
saturation_amplitude = 1.0

[data]
corpus = "synthetic"           # synthetic (built in) | hillenbrand (needs path or --data)
path = ""
vowels = ["ae", "ei", "iy"]
sexes = ["m", "w"]
sample_rate_hz = 10000.0
window_samples = 1000          # centred training windows; tests use full recordings
speakers_per_sex = 20          # synthetic corpus only
test_fraction = 0.25           # held-out speakers when folds = 0
seed = 0

[training]
epochs = 24
batch_size = 18
learning_rate = 0.3            # Adam step on the latent field (logits of the density)
lr_decay = 0.92                # learning rate multiplier per epoch
folds = 0                      # 0: one speaker-grouped split; k >= 2: k-fold cross-validation
fold = -1                      # with folds: only this fold (-1: all)
seed = 0
init = "uniform"               # uniform | random | half
init_value = 0.5
select_epochs = 1              # ship the design of the last N epochs with the lowest fabricated training loss

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
'''
