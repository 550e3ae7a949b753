"""A shaded 3D view of an exported STL, drawn headless with matplotlib's mplot3d (no OpenGL)."""
from __future__ import annotations

import numpy as np
import trimesh
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from .plotting import new_figure, unit_label

__all__ = ["LIGHT", "shade", "bodies", "stl_figure"]

LIGHT = np.array([-0.4, -0.5, 0.77])  # direction towards the light: from the front left, above
BODY_COLOURS = ((0.55, 0.62, 0.75), (0.85, 0.6, 0.35))  # resting bodies, upper bodies


def shade(normals: np.ndarray, colour: tuple[float, float, float]) -> np.ndarray:
    """(F, 4) RGBA per face: Lambert shading of ``colour`` under :data:`LIGHT`, plus ambient light."""
    light = LIGHT / np.linalg.norm(LIGHT)
    lambert = np.clip(normals @ light, 0.0, 1.0)
    rgb = np.asarray(colour)[None, :] * (0.35 + 0.65 * lambert[:, None])
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)


def bodies(mesh: trimesh.Trimesh) -> tuple[list[trimesh.Trimesh], list[trimesh.Trimesh]]:
    """The mesh's connected bodies as (resting, upper): upper ones start above every resting body's top (a lid).

    Bodies that start at the part's underside rest; so does any body that
    overlaps them in height (a wall on a plate). Only what lies wholly above
    them is upper.
    """
    parts = mesh.split(only_watertight=False) or [mesh]
    floor = float(mesh.bounds[0, 2])
    tolerance = 1e-6 * max(float(np.ptp(mesh.bounds[:, 2])), 1e-12)
    resting = [b for b in parts if float(b.bounds[0, 2]) <= floor + tolerance]
    ceiling = max(float(b.bounds[1, 2]) for b in resting)
    upper = [b for b in parts if float(b.bounds[0, 2]) >= ceiling - tolerance and
             all(b is not r for r in resting)]
    resting += [b for b in parts if all(b is not r for r in resting + upper)]
    return resting, sorted(upper, key=lambda b: float(b.bounds[0, 2]))


def stl_figure(mesh: trimesh.Trimesh, unit: str, title: str, mm_per_unit: float = 1.0) -> Figure:
    """The part (an STL, in mm) in 3D, drawn in ``unit`` (``mm_per_unit`` mm each).

    Bodies that lie wholly above the others (a lid) are lifted (an exploded
    view) and see-through, so they do not hide the walls under them.
    """
    mesh = mesh.copy()
    mesh.apply_scale(1.0 / mm_per_unit)
    resting, upper = bodies(mesh)
    lo, hi = mesh.bounds
    lift = 1.5 * float(hi[2] - lo[2])
    fig = new_figure(8.0, 6.0)
    ax = fig.add_subplot(projection="3d")
    for i, (group, shift, alpha) in enumerate(((resting, 0.0, 1.0), (upper, lift, 0.45))):
        for body in group:
            colours = shade(body.face_normals, BODY_COLOURS[i])
            colours[:, 3] = alpha
            triangles = body.vertices[body.faces] + np.array([0.0, 0.0, shift])
            ax.add_collection3d(Poly3DCollection(triangles, facecolors=colours, edgecolors="none"))
    top = hi[2] + (lift if upper else 0.0)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), zlim=(lo[2], top))
    ax.set_box_aspect((hi[0] - lo[0], hi[1] - lo[1], max(top - lo[2], 1e-9)))
    u = unit_label(unit)
    ax.set(xlabel=f"x ({u})", ylabel=f"y ({u})", zlabel=f"z ({u})")
    ax.zaxis.set_major_locator(MaxNLocator(3))  # a thin part: few ticks on its height
    ax.view_init(elev=35, azim=-60)
    n = len(resting) + len(upper)
    lifted = f"; the {len(upper)} upper bod{'y' if len(upper) == 1 else 'ies'} lifted by {lift:.3g} {u}" if upper else ""
    ax.set_title(f"{title}\n{len(mesh.faces)} triangles, {n} bod{'y' if n == 1 else 'ies'}{lifted}", fontsize=10)
    return fig
