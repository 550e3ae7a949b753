"""An animated GIF of the wave field: matplotlib draws the frames (blitted), Pillow writes the GIF.

The axes, labels and colour scale are drawn once; each frame redraws only
the field images, the markers on them and the clock, so a frame costs a few
milliseconds instead of a whole figure's layout and text.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

import fabrication as fab

from .fields import caption
from .plotting import draw_layout, map_figsize, new_figure, show_map, si_scale
from .simulate import FieldRun

__all__ = ["FPS", "GIF_DPI", "field_animation"]

FPS = 10
GIF_DPI = 72  # small frames: the GIF travels inside report.html


def field_animation(run: FieldRun, layout: fab.Layout, classes: tuple[str, ...], title: str,
                    max_panels: int = 3) -> bytes:
    """GIF bytes of u over every kept frame, one panel per recording (at most ``max_panels``), looping.

    Each panel's colour scale is symmetric, fixed over the whole clip at the
    99.5th percentile of |u|, so the wave grows and fades as it does.
    """
    panels = min(len(run.labels), max_panels)
    w, h, rows, cols = map_figsize(layout, panels, max_cols=max_panels)
    fig = new_figure(w, h)
    fig.set_dpi(GIF_DPI)
    canvas = FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    moving = []  # drawn every frame, in this order: each panel's image, then its markers; the clock last
    images = []
    for b, ax in enumerate(axes[:panels]):
        limit = float(np.percentile(np.abs(run.frames[b]), 99.5)) or 1.0
        image = show_map(ax, run.frames[b, 0], layout, cmap="RdBu_r", vmin=-limit, vmax=limit)
        before = set(ax.get_children())
        draw_layout(ax, layout, classes, labels=False)
        images.append(image)
        moving += [(ax, image)] + [(ax, a) for a in ax.get_children() if a not in before]
        ax.set_title(caption(run, b, classes), fontsize=9)
    for ax in axes[panels:]:
        ax.set_visible(False)
    clock = fig.suptitle(f"{title}: {_clock_text(run, int(run.frame_steps[0]))}")
    moving.append((fig, clock))
    for _, artist in moving:
        artist.set_animated(True)
    canvas.draw()
    fig.set_layout_engine("none")
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for f, n in enumerate(run.frame_steps):
        canvas.restore_region(background)
        for b, image in enumerate(images):
            image.set_data(np.asarray(run.frames[b, f], float).T)
        clock.set_text(f"{title}: {_clock_text(run, int(n))}")
        for owner, artist in moving:
            owner.draw_artist(artist)
        frames.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))
    # One palette for the clip, from a montage of frames spread over it: no colour flicker, and a fraction
    # of the time that a palette per frame takes.
    sample = frames[::max(1, len(frames) // 8)]
    montage = Image.new("RGB", (sample[0].width, sample[0].height * len(sample)))
    for k, f in enumerate(sample):
        montage.paste(f, (0, k * f.height))
    palette = montage.quantize(colors=256)
    indexed = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    out = io.BytesIO()
    indexed[0].save(out, format="GIF", save_all=True, append_images=indexed[1:], duration=int(1000 / FPS), loop=0)
    return out.getvalue()


def _clock_text(run: FieldRun, step: int) -> str:
    signal_s = float(run.clock.signal_seconds(step + 1))
    scale, unit = si_scale(signal_s / run.clock.time_scale, "s")
    return f"t = {1e3 * signal_s:.3g} ms signal, {signal_s / run.clock.time_scale / scale:.3g} {unit} device"
