"""2D scalar-wave physics: the recurrence, absorbers, media and engines."""
from .absorber import damping_profile
from .engines import ENGINES, get_engine, resolve_device
from .medium import Layout, build_medium, layout_from_config, wave_speed_m_per_s
from .wave import Medium, simulate

__all__ = ["ENGINES", "Layout", "Medium", "build_medium", "damping_profile", "get_engine",
           "layout_from_config", "resolve_device", "simulate", "wave_speed_m_per_s"]
