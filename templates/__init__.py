"""Device templates: physical units, materials, process rules and layer maps.

A template fixes what the fabrication process fixes (cell size, materials, the
minimum feature, the GDS layer map, the printed slab); a run's config fixes the
grid. Templates are TOML files shipped inside this package.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources

__all__ = ["Template", "Material", "GdsLayers", "PrintSpec", "DriveSpec", "BandSpec", "SurroundingsSpec", "LossSpec",
           "load_template", "template_names", "TemplateError", "MODELS"]

C_VACUUM_M_PER_S = 299_792_458.0
UNIT_TO_M = {"um": 1e-6, "mm": 1e-3}
MODELS = ("speed", "density")
"""Physical models a template can ask for (see :mod:`designer.physics.models`)."""
FRAME_PLACES = ("design_region", "domain")


class TemplateError(ValueError):
    """A template file is missing or malformed."""


@dataclass(frozen=True)
class Material:
    """A material: its wave speed and, for acoustics, its density.

    model_speed_m_per_s is the speed the simulation gives the material when it
    differs from the physical one: a solid whose impedance exceeds the
    fluid's by orders of magnitude is sound-hard, the field barely enters it,
    and simulating it at the fluid's speed keeps the time step and the grid
    set by the fluid (the template says why and what that was checked against).
    model_density_kg_per_m3 then keeps the solid's impedance rho c, which
    decides how much a wall reflects.
    """

    name: str
    speed_m_per_s: float
    density_kg_per_m3: float | None = None
    model_speed_m_per_s: float | None = None
    model_density_kg_per_m3: float | None = None

    @property
    def simulated_speed_m_per_s(self) -> float:
        return self.model_speed_m_per_s if self.model_speed_m_per_s is not None else self.speed_m_per_s

    @property
    def simulated_density_kg_per_m3(self) -> float | None:
        return self.model_density_kg_per_m3 if self.model_density_kg_per_m3 is not None else self.density_kg_per_m3

    @property
    def impedance_rayl(self) -> float | None:
        """Characteristic acoustic impedance rho c (physical speed), when the density is known."""
        return None if self.density_kg_per_m3 is None else self.density_kg_per_m3 * self.speed_m_per_s


@dataclass(frozen=True)
class GdsLayers:
    top_cell: str
    device: tuple[int, int]
    design_region: tuple[int, int]
    source: tuple[int, int]
    probe: tuple[int, int]
    label: tuple[int, int]


@dataclass(frozen=True)
class PrintSpec:
    """The printed part around the 2D design, lengths in metres.

    slab_thickness_m: height of the walls (for a channel, the channel height).
    base_thickness_m: plate under the walls; lid_thickness_m: plate on top of
    them (0: none). frame_width_m: a full-height wall around ``frame_around``
    ("design_region" or "domain"); it is printed, so it is simulated.
    ports: holes through the lid above the source and the probes, where the
    transducers sit.
    """

    slab_thickness_m: float
    base_thickness_m: float
    frame_width_m: float
    single_body: bool
    lid_thickness_m: float = 0.0
    frame_around: str = "design_region"
    ports: bool = False

    @property
    def channel(self) -> bool:
        """Walls between a base and a lid: a closed channel."""
        return self.base_thickness_m > 0 and self.lid_thickness_m > 0


@dataclass(frozen=True)
class DriveSpec:
    """The chain that drives the source, part of the device.

    The signal, time-scaled, is resampled to the simulation's steps and
    band-limited by Butterworth filters: a low-pass of ``lowpass_order`` at
    ``lowpass_hz`` and a high-pass of ``highpass_order`` at ``highpass_hz``
    (device frequencies; 0: no filter), as the drive electronics and the
    transducer of a built device band-limit it (no transducer makes DC).
    """

    lowpass_hz: float = 0.0
    lowpass_order: int = 4
    highpass_hz: float = 0.0
    highpass_order: int = 2


@dataclass(frozen=True)
class BandSpec:
    """Where the template's material model holds, and how much signal may lie outside.

    phase_error: the largest phase-velocity error of the scheme accepted at
    the highest resolved frequency (it sets the cells per wavelength needed in
    the slowest material). max_share_outside: the largest share of the
    injected signal energy allowed outside the valid band. min_hz / max_hz:
    the band the material physics allows (device frequency), with the reason.
    idealised: when set, the template is a labelled idealisation: a signal
    outside its band is reported, not refused.
    """

    phase_error: float = 0.01
    max_share_outside: float = 0.05
    min_hz: float = 0.0
    max_hz: float = math.inf
    reason: str = ""
    idealised: str = ""


@dataclass(frozen=True)
class LossSpec:
    """Attenuation of the fluid where it fills the channel: alpha in Np/m, taken at ``reference_hz``.

    The simulation applies it as a frequency-independent damping b = 2 c alpha
    in the fluid (amplitude exp(-alpha x) for a wave at speed c); the reason
    says where alpha comes from and how it varies over the band.
    """

    fluid_np_per_m: float = 0.0
    reference_hz: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class SurroundingsSpec:
    """What the 3D check puts around the part: fluid above and below it, and its absorbing layers.

    ports_closed: each port is closed at the lid's outer face by its
    transducer (a microphone or the source, mounted over the hole), modelled
    as a cap of the solid material one cell thick.
    """

    outside_m: float = 0.0
    absorber_m: float = 0.0
    ports_closed: bool = True


@dataclass(frozen=True)
class Template:
    """A fabrication process, all lengths in metres internally (``*_m``)."""

    name: str
    description: str
    output_format: str
    length_unit: str
    cell_size_m: float
    background: Material
    material: Material
    time_scale: float
    min_solid_m: float
    min_void_m: float
    manufacturing_grid_m: float
    gds: GdsLayers
    printing: PrintSpec
    model: str = "speed"
    steps_per_sample: int = 1
    drive: DriveSpec = DriveSpec()
    band: BandSpec = BandSpec()
    surroundings: SurroundingsSpec = SurroundingsSpec()
    losses: LossSpec = LossSpec()

    @property
    def unit_m(self) -> float:
        """Metres per template length unit."""
        return UNIT_TO_M[self.length_unit]

    def to_unit(self, length_m: float) -> float:
        """A length in metres expressed in the template's unit."""
        return length_m / self.unit_m

    def cells(self, length_m: float) -> float:
        """A length in metres expressed in cells."""
        return length_m / self.cell_size_m

    @property
    def min_solid_cells(self) -> float:
        return self.cells(self.min_solid_m)

    @property
    def min_void_cells(self) -> float:
        return self.cells(self.min_void_m)

    @property
    def max_speed_m_per_s(self) -> float:
        """The fastest simulated speed: it sets the stable time step."""
        return max(self.background.simulated_speed_m_per_s, self.material.simulated_speed_m_per_s)

    @property
    def min_speed_m_per_s(self) -> float:
        """The slowest simulated speed: it sets the cells per wavelength."""
        return min(self.background.simulated_speed_m_per_s, self.material.simulated_speed_m_per_s)


def template_names() -> list[str]:
    """Names of the templates shipped with the package, sorted."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".toml"))


def load_template(name: str) -> Template:
    """Load a shipped template by name; an unknown name lists the valid ones."""
    names = template_names()
    if name not in names:
        raise TemplateError(f"unknown template {name!r}; expected one of: {', '.join(names)}")
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text()
    return parse_template(tomllib.loads(text), source=f"template {name}")


def _positive(value, what: str, source: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise TemplateError(f"{source}: {what} must be positive, got {value}")
    return value


def _speed(entry: dict, source: str) -> Material:
    if "sound_speed_m_per_s" in entry:
        speed = float(entry["sound_speed_m_per_s"])
    elif "refractive_index" in entry:
        speed = C_VACUUM_M_PER_S / float(entry["refractive_index"])
    else:
        raise TemplateError(f"{source}: material needs sound_speed_m_per_s or refractive_index")
    if not math.isfinite(speed) or speed <= 0:
        raise TemplateError(f"{source}: material speed must be positive, got {speed}")
    def optional(key: str) -> float | None:
        return None if entry.get(key) is None else _positive(entry[key], key, source)

    return Material(name=str(entry.get("name", "")), speed_m_per_s=speed,
                    density_kg_per_m3=optional("density_kg_per_m3"),
                    model_speed_m_per_s=optional("model_sound_speed_m_per_s"),
                    model_density_kg_per_m3=optional("model_density_kg_per_m3"))


def _band(data: dict) -> BandSpec:
    b = data.get("band", {})
    return BandSpec(phase_error=float(b.get("phase_error", 0.01)),
                    max_share_outside=float(b.get("max_share_outside", 0.05)),
                    min_hz=float(b.get("min_hz", 0.0)), max_hz=float(b.get("max_hz", math.inf)),
                    reason=str(b.get("reason", "")), idealised=str(b.get("idealised", "")))


def parse_template(data: dict, source: str) -> Template:
    """Build a :class:`Template` from a parsed TOML table."""
    try:
        unit = data["length_unit"]
        if unit not in UNIT_TO_M:
            raise TemplateError(f"{source}: length_unit must be one of {sorted(UNIT_TO_M)}, got {unit!r}")
        scale = UNIT_TO_M[unit]
        rules, gds, prn = data["rules"], data["gds"], data["print"]
        template = Template(
            name=data["name"],
            description=data.get("description", ""),
            output_format=data["output_format"],
            length_unit=unit,
            cell_size_m=float(data[f"cell_size_{unit}"]) * scale,
            background=_speed(data["materials"]["background"], source),
            material=_speed(data["materials"]["material"], source),
            time_scale=float(data["time"]["time_scale"]),
            min_solid_m=float(rules[f"min_solid_{unit}"]) * scale,
            min_void_m=float(rules[f"min_void_{unit}"]) * scale,
            manufacturing_grid_m=float(rules[f"manufacturing_grid_{unit}"]) * scale,
            gds=GdsLayers(
                top_cell=gds["top_cell"],
                device=tuple(gds["device_layer"]),
                design_region=tuple(gds["design_region_layer"]),
                source=tuple(gds["source_layer"]),
                probe=tuple(gds["probe_layer"]),
                label=tuple(gds["label_layer"]),
            ),
            printing=PrintSpec(
                slab_thickness_m=float(prn[f"slab_thickness_{unit}"]) * scale,
                base_thickness_m=float(prn[f"base_thickness_{unit}"]) * scale,
                frame_width_m=float(prn[f"frame_width_{unit}"]) * scale,
                single_body=bool(prn["single_body"]),
                lid_thickness_m=float(prn.get(f"lid_thickness_{unit}", 0.0)) * scale,
                frame_around=str(prn.get("frame_around", "design_region")),
                ports=bool(prn.get("ports", False)),
            ),
            model=str(data.get("model", "speed")),
            steps_per_sample=int(data["time"].get("steps_per_sample", 1)),
            drive=DriveSpec(lowpass_hz=float(data.get("source", {}).get("lowpass_hz", 0.0)),
                            lowpass_order=int(data.get("source", {}).get("lowpass_order", 4)),
                            highpass_hz=float(data.get("source", {}).get("highpass_hz", 0.0)),
                            highpass_order=int(data.get("source", {}).get("highpass_order", 2))),
            band=_band(data),
            losses=LossSpec(fluid_np_per_m=float(data.get("losses", {}).get("fluid_np_per_m", 0.0)),
                            reference_hz=float(data.get("losses", {}).get("reference_hz", 0.0)),
                            reason=str(data.get("losses", {}).get("reason", ""))),
            surroundings=SurroundingsSpec(
                outside_m=float(data.get("surroundings", {}).get(f"outside_{unit}", 0.0)) * scale,
                absorber_m=float(data.get("surroundings", {}).get(f"absorber_{unit}", 0.0)) * scale,
                ports_closed=bool(data.get("surroundings", {}).get("ports_closed", True))),
        )
    except KeyError as exc:
        raise TemplateError(f"{source}: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"{source}: {exc}") from None
    _check_template(template, source)
    return template


def _check_template(t: Template, source: str) -> None:
    if t.model not in MODELS:
        raise TemplateError(f"{source}: model must be one of {', '.join(MODELS)}, got {t.model!r}")
    if t.model == "density" and (t.background.density_kg_per_m3 is None or t.material.density_kg_per_m3 is None):
        raise TemplateError(f"{source}: model 'density' needs density_kg_per_m3 for both materials")
    if t.printing.frame_around not in FRAME_PLACES:
        raise TemplateError(f"{source}: print.frame_around must be one of {', '.join(FRAME_PLACES)}, "
                            f"got {t.printing.frame_around!r}")
    if t.losses.fluid_np_per_m < 0:
        raise TemplateError(f"{source}: losses.fluid_np_per_m must be >= 0, got {t.losses.fluid_np_per_m}")
    if t.steps_per_sample < 1:
        raise TemplateError(f"{source}: time.steps_per_sample must be >= 1, got {t.steps_per_sample}")
    d = t.drive
    if d.lowpass_hz < 0 or d.lowpass_order < 1 or d.highpass_hz < 0 or d.highpass_order < 1:
        raise TemplateError(f"{source}: source.lowpass_hz and highpass_hz must be >= 0 and their orders >= 1")
    if d.lowpass_hz and d.highpass_hz >= d.lowpass_hz:
        raise TemplateError(f"{source}: source.highpass_hz ({d.highpass_hz:g}) must lie below lowpass_hz "
                            f"({d.lowpass_hz:g})")
    b = t.band
    if not (0 < b.phase_error < 1 and 0 <= b.max_share_outside < 1 and 0 <= b.min_hz < b.max_hz):
        raise TemplateError(f"{source}: band needs 0 < phase_error < 1, 0 <= max_share_outside < 1 "
                            f"and 0 <= min_hz < max_hz")
