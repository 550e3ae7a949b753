"""designer: inverse design of printable analog wave-RNN devices."""
from . import jit_cache

jit_cache.prepare()  # before any kernel is decorated: numba's cache in a folder this tool checks
