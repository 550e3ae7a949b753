"""A shaded 3D view of an exported STL, drawn headless with matplotlib's mplot3d (no OpenGL)."""
from __future__ import annotations

import numpy as np
import trimesh
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from .plotting import new_figure, unit_label

__all__ = ["LIGHT", "shade", "bodies", "stl_figure"]

LIGHT = np.array([-0.4, -0.5, 0.77])  # direction towards the light: from the front left, above
BODY_COLOURS = ((0.55, 0.62, 0.75), (0.85, 0.6, 0.35), (0.5, 0.7, 0.5))


def shade(normals: np.ndarray, colour: tuple[float, float, float]) -> np.ndarray:
    """(F, 4) RGBA per face: Lambert shading of ``colour`` under :data:`LIGHT`, plus ambient light."""
    light = LIGHT / np.linalg.norm(LIGHT)
    lambert = np.clip(normals @ light, 0.0, 1.0)
    rgb = np.asarray(colour)[None, :] * (0.35 + 0.65 * lambert[:, None])
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)


def bodies(mesh: trimesh.Trimesh) -> list[trimesh.Trimesh]:
    """The mesh's connected bodies, lowest first (a lid comes after the plate it covers)."""
    parts = mesh.split(only_watertight=False) or [mesh]
    return sorted(parts, key=lambda b: float(b.bounds[0, 2]))


def stl_figure(mesh: trimesh.Trimesh, unit: str, title: str, mm_per_unit: float = 1.0) -> Figure:
    """The part (an STL, in mm) in 3D, drawn in ``unit`` (``mm_per_unit`` mm each).

    With several bodies, each one above the first is lifted (an exploded
    view) and see-through, so a lid does not hide the walls under it.
    """
    mesh = mesh.copy()
    mesh.apply_scale(1.0 / mm_per_unit)
    parts = bodies(mesh)
    lo, hi = mesh.bounds
    height = float(hi[2] - lo[2])
    fig = new_figure(8.0, 6.0)
    ax = fig.add_subplot(projection="3d")
    for i, body in enumerate(parts):
        lift = np.array([0.0, 0.0, 1.5 * height * i])
        triangles = body.vertices[body.faces] + lift
        colours = shade(body.face_normals, BODY_COLOURS[i % len(BODY_COLOURS)])
        colours[:, 3] = 1.0 if i == 0 else 0.45
        ax.add_collection3d(Poly3DCollection(triangles, facecolors=colours, edgecolors="none"))
    top = hi[2] + 1.5 * height * (len(parts) - 1)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), zlim=(lo[2], top))
    ax.set_box_aspect((hi[0] - lo[0], hi[1] - lo[1], max(top - lo[2], 1e-9)))
    u = unit_label(unit)
    ax.set(xlabel=f"x ({u})", ylabel=f"y ({u})", zlabel=f"z ({u})")
    ax.view_init(elev=35, azim=-60)
    lifted = f"; {len(parts) - 1} upper bod{'y' if len(parts) == 2 else 'ies'} lifted by {1.5 * height:.3g} {u}" \
        if len(parts) > 1 else ""
    ax.set_title(f"{title}\n{len(mesh.faces)} triangles, {len(parts)} bod{'y' if len(parts) == 1 else 'ies'}"
                 f"{lifted}", fontsize=10)
    return fig
