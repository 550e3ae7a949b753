"""Wave physics: the recurrence, absorbers, layouts, physical models and engines."""
from .absorber import damping_profile
from .engines import ENGINES, get_engine, resolve_device
from .layout import Layout, layout_from_config
from .models import MODELS, build_medium, wave_speed_m_per_s
from .wave import Medium, simulate

__all__ = ["ENGINES", "MODELS", "Layout", "Medium", "build_medium", "damping_profile", "get_engine",
           "layout_from_config", "resolve_device", "simulate", "wave_speed_m_per_s"]
