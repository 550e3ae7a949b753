"""Run configuration: TOML in, frozen typed specs out, validated once.

Every check happens here, before any work starts, and every rejection is a
:class:`ConfigError` whose message is one line naming the file, the key and
what was expected.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from templates import Template, TemplateError, load_template

from .config_rules import check_ports, check_signs, check_sizes, check_transit
from .errors import ConfigError, DesignerError
from .limits import read_regular_file
from .readout import READOUTS, get_readout

__all__ = ["Config", "load_config", "parse_config", "read_config_data", "ConfigError"]

CFL_LIMIT_2D = 1.0 / math.sqrt(2.0)
CFL_LIMIT_3D = 1.0 / math.sqrt(3.0)
REMOVED_KEYS = {
    "constraints.frame": "removed: a template's printed frame is always part of the simulation",
}


@dataclass(frozen=True)
class GridSpec:
    """Simulation grid in cells; the template fixes the physical cell size."""

    nx: int
    ny: int
    absorber_cells: int = 20
    absorber_strength: float = 0.5  # peak b dt at the template's time step (Config.absorber_per_step)
    absorber_profile: str = "polynomial"
    absorber_order: float = 2.0


@dataclass(frozen=True)
class RegionSpec:
    """Design region, a half-open box of cells [x0, x1) x [y0, y1)."""

    x0_cells: int
    x1_cells: int
    y0_cells: int
    y1_cells: int
    keepout_cells: int = 2


@dataclass(frozen=True)
class SourceSpec:
    """A point source at (x, y), or a line source from (x, y) to (x_end, y_end)."""

    x_cells: int
    y_cells: int
    name: str = "input"
    kind: str = "point"
    x_end_cells: int = -1
    y_end_cells: int = -1


@dataclass(frozen=True)
class ProbeSpec:
    """A circular probe; the i-th probe stands for the i-th class."""

    x_cells: int
    y_cells: int
    name: str = ""
    radius_cells: float = 1.0


@dataclass(frozen=True)
class SimulationSpec:
    engine: str = "auto"
    dtype: str = "float32"
    device: str = "auto"
    time_scale: float = 0.0  # 0: take the template's
    steps_per_sample: int = 0  # 0: take the template's
    preemphasis: float = 0.0  # drive electronics' y[n] = x[n] - a x[n-1] on the signal, before the template's chain


@dataclass(frozen=True)
class NonlinearitySpec:
    """The paper's nonlinearities, acting only in the design material (rho)."""

    kerr: float = 0.0  # Courant change per unit u^2, times rho
    saturable_absorption: float = 0.0  # peak damping per step, times rho
    saturation_amplitude: float = 1.0


@dataclass(frozen=True)
class ReadoutSpec:
    """How probe powers name a class (a key of ``designer.readout.READOUTS``): one probe per class, or a pair.

    sharpness: the factor on the class scores (natural-log powers or power
    ratios) before the softmax of the loss, log_softmax(sharpness * scores).
    The class, their argmax, does not change; a part whose scores span a
    fraction of a neper stays near the uniform distribution at 1, where the
    cross-entropy rewards the mean score margin of every window alike, easy
    ones too. A larger factor weighs the windows near a decision boundary.

    gates: gated detection. Each probe's integration time, from the first
    arrival to the end of the sample and its ring-down, is split into this
    many equal consecutive gates, each
    integrated on its own, and a class's score is the mean over the gates of
    the readout's score in each (:mod:`designer.readout`). 1 integrates the
    whole time, as the paper's readout does.
    """

    kind: str = "intensity"
    sharpness: float = 1.0
    gates: int = 1


@dataclass(frozen=True)
class DataSpec:
    """Where the labelled signals come from (``source``, a key of ``designer.data.SOURCES``) and how they are cut.

    classes: free-text class names in probe order (empty: the source's own,
    read from the data; ``vowels`` is the older spelling). sample_rate_hz: the
    run's rate, one sample per time step; every source is resampled to it.
    source_rate_hz: the data's own rate where its files do not say (arrays,
    UCR); 0 takes sample_rate_hz. window_samples: centred training windows,
    0 trains on whole signals. ring_down_samples: zero-input steps after
    every signal before its probe power is read; -1 chooses from the
    device's transit time (``designer.data.timing``). group_pattern /
    groups_file: groups of the folders source (see ``designer.data.folders``).
    test_path: the UCR test file, when it is not the _TRAIN file's _TEST sibling.
    """

    source: str = "synthetic"
    path: str = ""
    classes: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ("m", "w")
    sample_rate_hz: float = 10000.0
    source_rate_hz: float = 0.0
    window_samples: int = 1000
    ring_down_samples: int = -1
    normalise: str = "peak"
    group_pattern: str = ""
    groups_file: str = ""
    test_path: str = ""
    speakers_per_sex: int = 12  # synthetic corpus only
    test_fraction: float = 0.25
    seed: int = 0

    @property
    def vowels(self) -> tuple[str, ...]:
        """The classes, under the name the vowel corpora give them."""
        return self.classes

    @property
    def corpus(self) -> str:
        """The source, under its older name."""
        return self.source


@dataclass(frozen=True)
class TrainingSpec:
    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 0.01
    lr_decay: float = 1.0  # multiplied into the learning rate every epoch
    folds: int = 0  # 0: one speaker-grouped train/test split
    fold: int = -1  # with folds > 0: run only this fold (-1: all)
    seed: int = 0
    init: str = "uniform"  # uniform | random | half
    init_value: float = 0.5
    eval_every: int = 1
    select_epochs: int = 1  # final design: lowest fabricated training loss among the last N epochs (all if fewer)
    speed_jitter: float = 0.0  # every variant of every batch sees all wave speeds scaled by 1 + U(-j, j)
    restarts: int = 1  # seeds seed .. seed + restarts - 1 per fold; ships the lowest fabricated training loss
    physics_aware: bool = False  # fabricated epochs: forward through the 3D part, backward through the 2D twin
    init_from: str = ""  # a run, fold or design.npz whose trained latent field starts this run (same fold, same data)


@dataclass(frozen=True)
class ConstraintSpec:
    method: str = "robust"  # none | robust | indicator | both
    filter: str = "conic"
    beta_start: float = 2.0
    beta_factor: float = 2.0
    beta_every_epochs: int = 4
    beta_max: float = 64.0
    indicator_weight: float = 1.0
    fabricated_epochs: int = 0  # last epochs trained through the exported geometry
    rule_margin: float = 1.5  # the filter is designed for rule x margin, the binary design guarantees the rule
    levels: int = 1  # wall heights: 1, walls the channel's full height; N >= 2, a relief of walls k H / N tall


@dataclass(frozen=True)
class Config:
    """A fully validated run: what the config says plus its template."""

    source_file: str
    name: str
    template: Template
    grid: GridSpec
    design_region: RegionSpec
    sources: tuple[SourceSpec, ...]
    probes: tuple[ProbeSpec, ...]
    simulation: SimulationSpec = field(default_factory=SimulationSpec)
    nonlinearity: NonlinearitySpec = field(default_factory=NonlinearitySpec)
    readout: ReadoutSpec = field(default_factory=ReadoutSpec)
    data: DataSpec = field(default_factory=DataSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    constraints: ConstraintSpec = field(default_factory=ConstraintSpec)

    @property
    def time_scale(self) -> float:
        return self.simulation.time_scale or self.template.time_scale

    @property
    def steps_per_sample(self) -> int:
        return self.simulation.steps_per_sample or self.template.steps_per_sample

    @property
    def dt_s(self) -> float:
        """Device time step: ``steps_per_sample`` steps per signal sample, time-scaled."""
        return 1.0 / (self.data.sample_rate_hz * self.time_scale * self.steps_per_sample)

    def absorber_per_step(self, refine: int = 1) -> float:
        """Peak absorber damping b dt per step of this run's time step.

        ``grid.absorber_strength`` is b dt at the template's own time step
        (its ``steps_per_sample``, no refinement); b, the damping rate, is
        what absorbs, so a run with K times more steps per sample (or a grid
        refined K times) damps K times less per step and absorbs the same.
        """
        return self.grid.absorber_strength * self.template.steps_per_sample / (self.steps_per_sample * refine)

    def replace(self, **sections) -> "Config":
        return dataclasses.replace(self, **sections)


SECTIONS = {
    "grid": GridSpec,
    "design_region": RegionSpec,
    "simulation": SimulationSpec,
    "nonlinearity": NonlinearitySpec,
    "readout": ReadoutSpec,
    "data": DataSpec,
    "training": TrainingSpec,
    "constraints": ConstraintSpec,
}
ARRAYS = {"sources": SourceSpec, "probes": ProbeSpec}
TOP_KEYS = ["template", "name", *SECTIONS, *ARRAYS]
CHOICES = {
    ("simulation", "engine"): ("auto", "fused", "reference", "impulse"),
    ("simulation", "dtype"): ("float32", "float64"),
    ("simulation", "device"): ("auto", "cpu", "cuda"),
    ("grid", "absorber_profile"): ("polynomial", "cosine"),
    ("data", "normalise"): ("peak", "none"),
    ("readout", "kind"): tuple(READOUTS),
    ("training", "init"): ("uniform", "random", "half"),
    ("constraints", "method"): ("none", "robust", "indicator", "both"),
    ("constraints", "filter"): ("conic", "gaussian"),
    ("sources", "kind"): ("point", "line"),
}
MAX_RESTARTS = 64
"""Seeds per fold that ``training.restarts`` may ask for (each costs one whole training)."""
MAX_GATES = 64
MAX_LEVELS = 16
"""Gates per probe that ``readout.gates`` may ask for."""

VOWELS = ("ae", "ah", "aw", "eh", "ei", "er", "ih", "iy", "oa", "oo", "uh", "uw")
DATA_ALIASES = {"corpus": "source", "vowels": "classes"}
"""Older [data] key names, still read."""
DATA_PATHS = ("path", "groups_file", "test_path")
"""[data] keys holding paths: relative to the config file, or package:NAME/..."""


class _Checker:
    """Builds dataclasses from TOML tables, raising one-line ConfigErrors."""

    def __init__(self, source: str, stored: bool = False):
        self.source = source
        self.stored = stored  # a trained design's record: fabrication-only rules are left to its export

    def fail(self, key: str, message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.source}: {key}: {message}")

    def unknown(self, key: str, valid: list[str]) -> typing.NoReturn:
        close = difflib.get_close_matches(key.rsplit(".", 1)[-1], valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
        self.fail(key, f"unknown key{hint}")

    def value(self, key: str, value, kind):
        origin = typing.get_origin(kind)
        if origin is tuple:
            if not isinstance(value, list):
                self.fail(key, f"expected a list, got {type(value).__name__} {value!r}")
            inner = typing.get_args(kind)[0]
            return tuple(self.value(f"{key}[{i}]", v, inner) for i, v in enumerate(value))
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(key, f"expected a number, got {type(value).__name__} {value!r}")
            if not math.isfinite(value):
                self.fail(key, f"expected a finite number, got {value!r}")
            return float(value)
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(key, f"expected an integer, got {type(value).__name__} {value!r}")
            return value
        if kind is bool:
            if not isinstance(value, bool):
                self.fail(key, f"expected true or false, got {value!r}")
            return value
        if kind is str:
            if not isinstance(value, str):
                self.fail(key, f"expected a string, got {type(value).__name__} {value!r}")
            return value
        raise TypeError(kind)

    def build(self, cls, table, prefix: str, choice_key: str):
        if not isinstance(table, dict):
            self.fail(prefix, f"expected a table, got {type(table).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in table:
            if f"{prefix}.{key}" in REMOVED_KEYS:
                self.fail(f"{prefix}.{key}", REMOVED_KEYS[f"{prefix}.{key}"])
            if key not in fields:
                self.unknown(f"{prefix}.{key}", list(fields))
        kwargs = {}
        for name, f in fields.items():
            key = f"{prefix}.{name}"
            if name not in table:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.fail(key, "missing value")
                continue
            kwargs[name] = self.value(key, table[name], hints[name])
            choices = CHOICES.get((choice_key, name))
            if choices and kwargs[name] not in choices:
                self.fail(key, f"expected one of {', '.join(choices)}, got {kwargs[name]!r}")
        return cls(**kwargs)


def _read_config_text(path: Path) -> str:
    """The config's text: a regular file (not a FIFO or /dev/zero), at most Limits.config_bytes, UTF-8."""
    try:
        data = read_regular_file(path, "config_bytes", "TOML config")
    except DesignerError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); expected a TOML config") from None


def _parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{source}: arrays or tables nested too deeply; expected a TOML config") from None


def read_config_data(path: str | Path, overrides: dict | None = None) -> dict:
    """The TOML document at ``path`` with ``overrides`` ('section.key' -> value) applied."""
    path = Path(path)
    source = str(path)
    data = _parse_toml(_read_config_text(path), source)
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".")
        table = data.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = value
    data.setdefault("name", path.stem)
    return data


def load_config(path: str | Path, overrides: dict | None = None) -> Config:
    """Read and validate a TOML config; ``overrides`` maps 'section.key' to values."""
    return parse_config(read_config_data(path, overrides), str(path))


def parse_config(data: dict, source: str, stored: bool = False) -> Config:
    """Validate a parsed TOML document into a :class:`Config`.

    stored: the document is a trained design's record (``design.json``). A
    rule that only concerns how the part is made, such as the lid ports' sizes
    (:func:`designer.config_rules.lid_port_problems`), is then checked by the
    export that makes it, so that a design trained before the rule still
    verifies and reports.
    """
    check = _Checker(source, stored)
    for key in data:
        if key not in TOP_KEYS:
            check.unknown(key, TOP_KEYS)
    for key in ("template", "grid", "design_region", "sources"):
        if key not in data:
            check.fail(key, "missing value" if key == "template" else "missing section")
    template_name = check.value("template", data["template"], str)
    try:
        template = load_template(template_name)
    except TemplateError as exc:
        check.fail("template", str(exc))
    tables = {**data, "data": _data_aliases(data.get("data", {}), check)}
    sections = {name: check.build(cls, tables.get(name, {}), name, name) for name, cls in SECTIONS.items()}
    sections["data"] = _resolve_data(sections["data"], source, check)
    if (start := sections["training"].init_from) and not Path(start).is_absolute():  # relative to the config
        sections["training"] = dataclasses.replace(sections["training"],
                                                   init_from=str(Path(os.path.abspath(Path(source).parent / start))))
    arrays = {}
    for name, cls in ARRAYS.items():
        if name == "probes" and name not in data:
            arrays[name] = _placed_probes(sections, arrays["sources"], template, check)
            continue
        items = data[name]
        if not isinstance(items, list) or not items:
            check.fail(name, f"expected one or more [[{name}]] tables")
        arrays[name] = tuple(check.build(cls, t, f"{name}[{i}]", name) for i, t in enumerate(items))
    config = Config(source_file=source, name=check.value("name", data.get("name", Path(source).stem), str), template=template,
                    **sections, **arrays)
    _check_consistency(config, check)
    return config


def _data_aliases(table, check: _Checker):
    """The [data] table with older key names (corpus, vowels) read as the current ones."""
    if not isinstance(table, dict):
        return table
    table = dict(table)
    for old, new in DATA_ALIASES.items():
        if old in table:
            if new in table:
                check.fail(f"data.{old}", f"is the older name of data.{new}; give only one of them")
            table[new] = table.pop(old)
    return table


def _resolve_data(spec: DataSpec, source: str, check: _Checker) -> DataSpec:
    """Paths made absolute, the source checked, and the classes filled in from the data when not given."""
    from .data.registry import SOURCES, resolve_data_path, source_classes
    from .errors import DesignerError

    if spec.source not in SOURCES:
        check.fail("data.source", f"expected one of {', '.join(SOURCES)}, got {spec.source!r}")
    try:
        paths = {k: resolve_data_path(getattr(spec, k), Path(source).parent) for k in DATA_PATHS}
    except DesignerError as exc:
        check.fail("data.path", str(exc))
    spec = dataclasses.replace(spec, **paths)
    if SOURCES[spec.source].needs_path and not spec.path:
        check.fail("data.path", f"the {spec.source} source needs data: set [data] path or pass --data")
    if not spec.classes:
        try:
            spec = dataclasses.replace(spec, classes=source_classes(spec))
        except DesignerError as exc:
            check.fail("data.path" if SOURCES[spec.source].needs_path else "data.classes", str(exc))
    return spec


def _placed_probes(sections: dict, sources: tuple[SourceSpec, ...], template: Template,
                   check: _Checker) -> tuple[ProbeSpec, ...]:
    """Probes for a config without [[probes]]: one per class along the output side (designer.placement)."""
    from .placement import lid_port_rule, place_probes

    p = template.printing
    frame = max(1, round(p.frame_width_m / template.cell_size_m)) if p.frame_width_m > 0 else 0
    edge = sections["grid"].absorber_cells + (frame if p.frame_around == "domain" else 0)  # as _inside counts it
    try:
        return place_probes(sections["grid"], sections["design_region"], sources,
                            get_readout(sections["readout"].kind).ports(sections["data"].classes), edge,
                            lid_port_rule(template))
    except ValueError as exc:
        check.fail("probes", str(exc))


def _check_consistency(cfg: Config, check: _Checker) -> None:
    _check_numbers(cfg, check)
    _check_stability(cfg, check)
    _check_geometry(cfg, check)
    _check_data(cfg, check)


def _check_numbers(cfg: Config, check: _Checker) -> None:
    positive = {
        "grid.nx": cfg.grid.nx, "grid.ny": cfg.grid.ny,
        "data.sample_rate_hz": cfg.data.sample_rate_hz,
        "training.epochs": cfg.training.epochs, "training.batch_size": cfg.training.batch_size,
        "training.learning_rate": cfg.training.learning_rate, "constraints.beta_start": cfg.constraints.beta_start,
        "constraints.beta_every_epochs": cfg.constraints.beta_every_epochs,
        "nonlinearity.saturation_amplitude": cfg.nonlinearity.saturation_amplitude,
        "data.speakers_per_sex": cfg.data.speakers_per_sex, "training.eval_every": cfg.training.eval_every,
        "readout.sharpness": cfg.readout.sharpness, "readout.gates": cfg.readout.gates,
    }
    for key, value in positive.items():
        if value <= 0:
            check.fail(key, f"expected a positive value, got {value!r}")
    if cfg.grid.absorber_cells < 0 or cfg.grid.absorber_strength < 0:
        check.fail("grid.absorber_cells", "expected a non-negative absorber width and strength")
    if cfg.simulation.steps_per_sample < 0:
        check.fail("simulation.steps_per_sample", f"expected 0 (the template's) or a positive integer, "
                                                  f"got {cfg.simulation.steps_per_sample}")
    if not 0.0 <= cfg.simulation.preemphasis < 1.0:
        check.fail("simulation.preemphasis", f"expected a coefficient a in [0, 1) of y[n] = x[n] - a x[n-1] "
                                             f"(0: none; speech uses 0.95-0.97), got {cfg.simulation.preemphasis}")
    if cfg.simulation.time_scale < 0:
        check.fail("simulation.time_scale", f"expected a positive value (or 0 for the template's), got {cfg.simulation.time_scale}")
    if cfg.training.folds == 1 or cfg.training.folds < 0:
        check.fail("training.folds", f"expected 0 (one split) or at least 2, got {cfg.training.folds}")
    if cfg.training.folds and cfg.training.fold >= cfg.training.folds:
        check.fail("training.fold", f"expected -1 or a fold below {cfg.training.folds}, got {cfg.training.fold}")
    if not 0 < cfg.data.test_fraction < 1:
        check.fail("data.test_fraction", f"expected a fraction in (0, 1), got {cfg.data.test_fraction}")
    if cfg.constraints.beta_factor < 1 or cfg.constraints.beta_max < cfg.constraints.beta_start:
        check.fail("constraints.beta_factor", "expected beta_factor >= 1 and beta_max >= beta_start")
    if cfg.constraints.rule_margin < 1:
        check.fail("constraints.rule_margin", f"expected a factor >= 1, got {cfg.constraints.rule_margin}")
    if cfg.constraints.fabricated_epochs < 0:
        check.fail("constraints.fabricated_epochs", f"expected 0 or more, got {cfg.constraints.fabricated_epochs}")
    if not 0 <= cfg.training.speed_jitter < 0.2:
        check.fail("training.speed_jitter", f"expected a relative jitter in [0, 0.2), got {cfg.training.speed_jitter}")
    if cfg.training.physics_aware:
        _check_physics_aware(cfg, check)
    if cfg.readout.gates > 1:
        _check_gates(cfg, check)
    if cfg.constraints.levels != 1:
        _check_levels(cfg, check)
    if not 1 <= cfg.training.restarts <= MAX_RESTARTS:
        check.fail("training.restarts", f"expected 1 to {MAX_RESTARTS} seeds per fold, got {cfg.training.restarts}")
    if cfg.training.select_epochs < 1:
        check.fail("training.select_epochs", f"expected 1 or more (1: ship the last epoch), got {cfg.training.select_epochs}")
    if not 0 <= cfg.training.init_value <= 1:
        check.fail("training.init_value", f"expected a density in [0, 1], got {cfg.training.init_value}")
    check_sizes(cfg, check)
    check_signs(cfg, check)


def _check_physics_aware(cfg: Config, check: _Checker) -> None:
    """What ``training.physics_aware`` needs: a closed channel to simulate in 3D, linear, fabricated epochs."""
    t, nl = cfg.template, cfg.nonlinearity
    if not t.printing.channel:
        check.fail("training.physics_aware", f"template {t.name} prints an open slab, which has no 3D model; "
                                             f"it needs a closed channel (template acoustic-channel)")
    elif t.spectral or nl.kerr or nl.saturable_absorption:
        check.fail("training.physics_aware", "the 3D twin runs one traced impulse per batch: it needs a linear, "
                                             "time-domain model (no nonlinearity)")
    elif cfg.constraints.fabricated_epochs < 1:
        check.fail("training.physics_aware", "it acts in the epochs that train through the fabricated geometry; "
                                             "set constraints.fabricated_epochs to 1 or more")


def _check_levels(cfg: Config, check: _Checker) -> None:
    """What a relief (``constraints.levels`` = N >= 2) needs: a channel whose plane mode sees a wall k H / N tall as k / N.

    The density model reads a cell of value x as 1/rho and 1/kappa
    interpolated linearly (:mod:`designer.physics.models.density`); for a
    solid far denser and stiffer than the fluid that is q = 1 - x, the
    gap-averaged plane mode of a channel whose gap over the cell is (1 - x) H
    (see :mod:`designer.relief`). So a relief needs the density model, a
    closed channel (a base and a lid bound the gap), a solid at least 100
    times the fluid's density and bulk modulus, and steps H / N that the 3D
    check resolves (a whole number of its cubic cells) and the printer can
    place (a whole number of manufacturing-grid steps).
    """
    from .physics.models.density import ratios

    t, n = cfg.template, cfg.constraints.levels
    key = "constraints.levels"
    if not 1 <= n <= MAX_LEVELS:
        check.fail(key, f"expected 1 (full-height walls) to {MAX_LEVELS} wall heights, got {n}")
    elif t.model != "density" or not t.printing.channel:
        check.fail(key, f"template {t.name}: a relief of {n} wall heights needs a closed channel simulated with "
                        f"the density model (template acoustic-channel); this one has model {t.model!r}"
                        f"{'' if t.printing.channel else ' and prints an open slab'}")
    elif max(ratios(cfg)) > 0.01:
        check.fail(key, f"template {t.name}: the material is not rigid against the fluid (density and bulk "
                        f"modulus ratios {ratios(cfg)[0]:.3g}, {ratios(cfg)[1]:.3g}, expected under 0.01), so a "
                        f"grey cell is not a partial wall")
    else:
        cells = t.printing.slab_thickness_m / t.cell_size_m
        step_grid = t.printing.slab_thickness_m / n / t.manufacturing_grid_m
        if abs(cells - round(cells)) > 1e-6 or round(cells) % n:
            check.fail(key, f"template {t.name}: the {t.printing.slab_thickness_m * 1e3:g} mm channel is "
                            f"{cells:g} cells tall; {n} wall heights need a divisor of that (each step a whole "
                            f"number of the 3D check's cells)")
        elif abs(step_grid - round(step_grid)) > 1e-6:
            check.fail(key, f"template {t.name}: a step of {t.printing.slab_thickness_m / n * 1e3:g} mm is not "
                            f"a whole number of {t.manufacturing_grid_m * 1e3:g} mm grid steps")


def _check_gates(cfg: Config, check: _Checker) -> None:
    """What ``readout.gates`` needs: the probes' signals in time, from one traced impulse per batch."""
    t, nl = cfg.template, cfg.nonlinearity
    if cfg.readout.gates > MAX_GATES:
        check.fail("readout.gates", f"expected 1 to {MAX_GATES} gates per probe, got {cfg.readout.gates}")
    elif t.spectral:
        check.fail("readout.gates", f"template {t.name} is solved in the frequency domain, which has no time "
                                    f"to gate; gates need a time-domain template")
    elif nl.kerr or nl.saturable_absorption:
        check.fail("readout.gates", "gated powers come from one traced impulse per batch: they need a linear "
                                    "medium (no nonlinearity)")
    elif cfg.simulation.engine not in ("auto", "impulse"):
        check.fail("readout.gates", f"gated powers come from one traced impulse per batch: expected "
                                    f"simulation.engine auto or impulse, got {cfg.simulation.engine!r}")


def _check_stability(cfg: Config, check: _Checker) -> None:
    """The CFL limit: 2D, or 3D when the template prints a closed channel that `verify --3d` simulates."""
    c_max = cfg.template.max_speed_m_per_s * (1.0 + cfg.training.speed_jitter)  # the fastest speed trained
    h = cfg.template.cell_size_m
    three_d = cfg.template.printing.channel
    dt_max = (CFL_LIMIT_3D if three_d else CFL_LIMIT_2D) * h / c_max
    if cfg.dt_s > dt_max:
        k = cfg.steps_per_sample
        need = 1.0 / (cfg.data.sample_rate_hz * k * dt_max)
        check.fail(
            "simulation.time_scale",
            f"dt = {cfg.dt_s:.4g} s (1 / (sample_rate_hz {cfg.data.sample_rate_hz:g} x time_scale {cfg.time_scale:g} "
            f"x steps_per_sample {k})) violates the {'3D' if three_d else '2D'} CFL limit for c_max = {c_max:.4g} m/s "
            f"at {h:.4g} m cells: a stable dt is <= {dt_max:.4g} s, i.e. time_scale >= {need:.4g} "
            f"(or more steps_per_sample)",
        )


def _inside(x: float, y: float, cfg: Config) -> str | None:
    g = cfg.grid
    if not (0 <= x < g.nx and 0 <= y < g.ny):
        return f"({x}, {y}) is outside the {g.nx} x {g.ny} grid"
    p = cfg.template.printing
    frame = max(1, round(p.frame_width_m / cfg.template.cell_size_m)) if p.frame_width_m > 0 else 0
    inset = frame if p.frame_around == "domain" else 0
    w = g.absorber_cells + inset
    if not (w <= x < g.nx - w and w <= y < g.ny - w):
        where = f"the absorbing layer ({g.absorber_cells} cells wide" + (f", inside a {inset}-cell frame)" if inset else ")")
        return f"({x}, {y}) lies in {where}; expected {w} <= x < {g.nx - w} and {w} <= y < {g.ny - w}"
    return None


def _check_geometry(cfg: Config, check: _Checker) -> None:
    r = cfg.design_region
    if r.keepout_cells < 0:
        check.fail("design_region.keepout_cells", f"expected 0 or more cells, got {r.keepout_cells}")
    if not (r.x0_cells < r.x1_cells and r.y0_cells < r.y1_cells):
        check.fail("design_region", f"expected x0 < x1 and y0 < y1, got [{r.x0_cells}, {r.x1_cells}) x [{r.y0_cells}, {r.y1_cells})")
    for x, y in ((r.x0_cells, r.y0_cells), (r.x1_cells - 1, r.y1_cells - 1)):
        if (msg := _inside(x, y, cfg)) is not None:
            check.fail("design_region", f"corner {msg}")
    points = []
    for i, s in enumerate(cfg.sources):
        points.append((f"sources[{i}]", s.x_cells, s.y_cells, 0.0))
        if s.kind == "line":
            if s.x_end_cells < 0 or s.y_end_cells < 0:
                check.fail(f"sources[{i}].x_end_cells", "a line source needs x_end_cells and y_end_cells")
            points.append((f"sources[{i}]", s.x_end_cells, s.y_end_cells, 0.0))
    for i, p in enumerate(cfg.probes):
        if p.radius_cells <= 0:
            check.fail(f"probes[{i}].radius_cells", f"expected a positive radius, got {p.radius_cells}")
        points.append((f"probes[{i}]", p.x_cells, p.y_cells, p.radius_cells))
    for key, x, y, radius in points:
        if (msg := _inside(x, y, cfg)) is not None:
            check.fail(key, msg)
        gap = r.keepout_cells + radius
        if r.x0_cells - gap <= x < r.x1_cells + gap and r.y0_cells - gap <= y < r.y1_cells + gap:
            check.fail(key, f"({x}, {y}) overlaps the design region [{r.x0_cells}, {r.x1_cells}) x "
                            f"[{r.y0_cells}, {r.y1_cells}) or its {r.keepout_cells}-cell keep-out; move it or shrink the region")
    for i, s in enumerate(cfg.sources):
        if s.kind == "line":
            for t in range(101):
                x = s.x_cells + (s.x_end_cells - s.x_cells) * t / 100
                y = s.y_cells + (s.y_end_cells - s.y_cells) * t / 100
                if r.x0_cells - r.keepout_cells <= x < r.x1_cells + r.keepout_cells and \
                        r.y0_cells - r.keepout_cells <= y < r.y1_cells + r.keepout_cells:
                    check.fail(f"sources[{i}]", "the line source crosses the design region")
    check_ports(cfg, check)
    check_transit(cfg, check)


def _check_data(cfg: Config, check: _Checker) -> None:
    from .data.registry import SOURCES

    d = cfg.data
    source = SOURCES[d.source]
    for i, c in enumerate(d.classes):
        if not c.strip():
            check.fail(f"data.classes[{i}]", f"expected a class name, got {c!r}")
    if len(set(d.classes)) != len(d.classes) or len(d.classes) < 2:
        check.fail("data.classes", f"expected two or more distinct classes, got {list(d.classes)}")
    if source.vowels:
        for i, v in enumerate(d.classes):
            if v not in VOWELS:
                check.fail(f"data.classes[{i}]", f"the {d.source} source has vowels {', '.join(VOWELS)}, got {v!r}")
        sexes = ("m", "w") if d.source == "synthetic" else ("m", "w", "b", "g")
        if not d.sexes:
            check.fail("data.sexes", f"expected one or more of {', '.join(sexes)}, got an empty list")
        for i, s in enumerate(d.sexes):
            if s not in sexes:
                check.fail(f"data.sexes[{i}]", f"expected one of {', '.join(sexes)}, got {s!r}")
    if d.window_samples < 0:
        check.fail("data.window_samples", f"expected a window in samples, or 0 for whole signals, got {d.window_samples}")
    if d.ring_down_samples < -1:
        check.fail("data.ring_down_samples", f"expected 0 or more steps (-1: from the transit time), got {d.ring_down_samples}")
    if d.source_rate_hz < 0:
        check.fail("data.source_rate_hz", f"expected a positive rate (0: sample_rate_hz), got {d.source_rate_hz}")
    only = {"group_pattern": "folders", "groups_file": "folders", "test_path": "ucr"}
    for key, owner in only.items():
        if getattr(d, key) and d.source != owner:
            check.fail(f"data.{key}", f"read by the {owner} source only, but data.source is {d.source!r}")
    readout = get_readout(cfg.readout.kind)
    if len(cfg.probes) != readout.probes_for(len(d.classes)):
        what = "one probe per class" if readout.ports_per_class == 1 else \
            f"{readout.ports_per_class} probes per class for readout {readout.name!r}, in the order {list(readout.ports(d.classes))}"
        check.fail("probes", f"expected {what} ({readout.probes_for(len(d.classes))} for classes {list(d.classes)}), "
                             f"got {len(cfg.probes)}")
