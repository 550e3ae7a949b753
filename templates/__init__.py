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

__all__ = ["Template", "Material", "GdsLayers", "PrintSpec", "load_template", "template_names", "TemplateError"]

C_VACUUM_M_PER_S = 299_792_458.0
UNIT_TO_M = {"um": 1e-6, "mm": 1e-3}


class TemplateError(ValueError):
    """A template file is missing or malformed."""


@dataclass(frozen=True)
class Material:
    name: str
    speed_m_per_s: float


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
    slab_thickness_m: float
    base_thickness_m: float
    frame_width_m: float
    single_body: bool


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
        return max(self.background.speed_m_per_s, self.material.speed_m_per_s)


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


def _speed(entry: dict, source: str) -> Material:
    if "sound_speed_m_per_s" in entry:
        speed = float(entry["sound_speed_m_per_s"])
    elif "refractive_index" in entry:
        speed = C_VACUUM_M_PER_S / float(entry["refractive_index"])
    else:
        raise TemplateError(f"{source}: material needs sound_speed_m_per_s or refractive_index")
    if not math.isfinite(speed) or speed <= 0:
        raise TemplateError(f"{source}: material speed must be positive, got {speed}")
    return Material(name=str(entry.get("name", "")), speed_m_per_s=speed)


def parse_template(data: dict, source: str) -> Template:
    """Build a :class:`Template` from a parsed TOML table."""
    try:
        unit = data["length_unit"]
        if unit not in UNIT_TO_M:
            raise TemplateError(f"{source}: length_unit must be one of {sorted(UNIT_TO_M)}, got {unit!r}")
        scale = UNIT_TO_M[unit]
        rules, gds, prn = data["rules"], data["gds"], data["print"]
        return Template(
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
            ),
        )
    except KeyError as exc:
        raise TemplateError(f"{source}: missing key {exc.args[0]!r}") from None
