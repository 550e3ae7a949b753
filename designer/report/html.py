"""A self-contained HTML page: inline CSS, every figure embedded as a data URI, nothing fetched from elsewhere.

The page is one file: copied or mailed alone, it shows every figure offline.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape

__all__ = ["Table", "FigureEntry", "Section", "render_html"]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1150px; padding: 1.2em 1.5em 3em; color: #1d1d1f; background: #fff; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
nav a { margin-right: 1em; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0 1.2em; font-size: 0.92em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { color: #444; font-size: 0.92em; margin-top: 0.3em; }
figcaption b { color: #111; }
"""


@dataclass(frozen=True)
class Table:
    """A table of text cells; an empty header makes a two-column key/value table."""

    caption: str
    rows: tuple[tuple[str, ...], ...]
    header: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigureEntry:
    """A figure: its image bytes (embedded in the page), the name of its copy beside the page, title, caption."""

    file: str
    title: str
    caption: str = ""
    data: bytes = b""
    mime: str = "image/png"

    @property
    def src(self) -> str:
        """The image as a data URI."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str
    tables: tuple[Table, ...] = ()
    figures: tuple[FigureEntry, ...] = ()


def _row(row: tuple[str, ...], key_column: bool) -> str:
    tags = ["th" if key_column and i == 0 else "td" for i in range(len(row))]
    return "<tr>" + "".join(f"<{t}>{escape(str(v))}</{t}>" for t, v in zip(tags, row)) + "</tr>"


def _table(t: Table) -> str:
    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in t.header) + "</tr>" if t.header else ""
    body = "".join(_row(row, key_column=not t.header) for row in t.rows)
    return f"<table><caption>{escape(t.caption)}</caption>{head}{body}</table>"


def _figure(f: FigureEntry) -> str:
    caption = f"<b>{escape(f.title)}.</b> {escape(f.caption)}" if f.caption else f"<b>{escape(f.title)}</b>"
    return (f'<figure id="{escape(f.file, quote=True)}"><img src="{f.src}" alt="{escape(f.title, quote=True)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def render_html(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole page as one string; every ``img src`` is the entry's image as a data URI."""
    nav = " ".join(f'<a href="#{escape(s.anchor, quote=True)}">{escape(s.heading)}</a>' for s in sections)
    parts = [f'<section id="{escape(s.anchor, quote=True)}"><h2>{escape(s.heading)}</h2>'
             + "".join(_table(t) for t in s.tables) + "".join(_figure(f) for f in s.figures) + "</section>"
             for s in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1><p class=\"sub\">{escape(subtitle)}</p>"
            f"<nav>{nav}</nav>{''.join(parts)}</body></html>\n")
