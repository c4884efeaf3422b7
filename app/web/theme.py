"""A partner's look for the widget: accent colour, font, corner radius and colour scheme, read
from the embed's query (set by /embed.js from the host's `data-*` attributes) and turned into a
small stylesheet, `/embed/theme.css`.

Why a stylesheet and not a `style` attribute: the pages' policy is `style-src 'self'` with no
'unsafe-inline' (app/http/answers.py), so the frame cannot carry an inline style. The page
links `/embed/theme.css?accent=...&...` instead, a file from our own origin, which CSP allows.

Why it cannot inject CSS: every value is parsed into a closed shape before anything is written
(a colour is `#rgb` or `#rrggbb`, a radius an integer 0-24, a scheme one of three words, a font
a list of at most four names of letters, digits, spaces and hyphens), and the stylesheet is
built from the parsed values only. Anything else is dropped (the default is used), never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

# No team link is shown inside a frame (teams are made on our own site), so none to hide.
Hideable = Literal["whatif", "retake"]
HIDEABLE: tuple[Hideable, ...] = ("whatif", "retake")


def parse_hide(value: str | None) -> frozenset[Hideable]:
    """`hide=whatif,retake`: the links the partner does not want in the frame (others dropped)."""
    asked = {v.strip() for v in (value or "").split(",")}
    return frozenset(h for h in HIDEABLE if h in asked)


Scheme = Literal["light", "dark", "auto"]
SCHEMES: tuple[Scheme, ...] = ("light", "dark", "auto")
COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
FONT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,39}$")
GENERIC_FONTS = frozenset(
    {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "ui-serif",
     "ui-sans-serif", "ui-monospace", "ui-rounded"}
)  # fmt: skip
MAX_FONTS = 4
MAX_RADIUS = 24
FALLBACK_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'

# The palettes the accent is checked against (style.css and the dark block below).
LIGHT_PAPER, LIGHT_INK = "#ffffff", "#1b1b1b"
DARK_PAPER, DARK_INK = "#121417", "#ececec"
DARK_LINK = "#8fc1ff"  # the link colour on dark paper when the accent reads too dark there


def colour(value: str | None) -> str | None:
    """`#rgb` or `#rrggbb`, lower-cased and expanded to six digits, else None."""
    if not value or not COLOUR.match(value.strip()):
        return None
    digits = value.strip()[1:].lower()
    return "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits))


def font_stack(value: str | None) -> tuple[str, ...] | None:
    """Up to four family names, quotes stripped; None when any one is not a short plain name
    (the whole value is dropped rather than guessed at)."""
    if not value or len(value) > 200:
        return None
    names = [n.strip().strip("\"'").strip() for n in value.split(",")]
    names = [n for n in names if n]
    if not names or len(names) > MAX_FONTS or not all(FONT_NAME.match(n) for n in names):
        return None
    return tuple(names)


def radius(value: str | None) -> int | None:
    if not value or not value.isascii() or not value.isdigit() or len(value) > 2:
        return None
    number = int(value)
    return number if number <= MAX_RADIUS else None


def scheme(value: str | None) -> Scheme | None:
    for known in SCHEMES:
        if value == known:
            return known
    return None


@dataclass(frozen=True)
class Theme:
    accent: str | None = None
    font: tuple[str, ...] | None = None
    radius: int | None = None
    scheme: Scheme | None = None

    @classmethod
    def from_query(cls, query: QueryParams) -> Theme:
        return cls(
            colour(query.get("accent")),
            font_stack(query.get("font")),
            radius(query.get("radius")),
            scheme(query.get("scheme")),
        )

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.accent, self.font, self.radius, self.scheme))

    def fields(self) -> list[tuple[str, str]]:
        """The parsed values as query parameters (what links keep, and the stylesheet's URL)."""
        params: list[tuple[str, str]] = []
        if self.accent:
            params.append(("accent", self.accent))
        if self.font:
            params.append(("font", ",".join(self.font)))
        if self.radius is not None:
            params.append(("radius", str(self.radius)))
        if self.scheme:
            params.append(("scheme", self.scheme))
        return params

    def stylesheet_url(self) -> str:
        return "/embed/theme.css?" + urlencode(self.fields())

    def css(self) -> str:
        """The stylesheet: custom properties over style.css's, and a dark palette for `dark`
        (always) or `auto` (when the reader's system prefers it)."""
        light: list[str] = []
        dark: list[str] = []
        if self.font:
            light.append(f"--font: {_font_css(self.font)};")
        if self.radius is not None:
            light.append(f"--radius: {self.radius}px;")
            light.append(f"--radius-card: {round(self.radius * 1.5)}px;")
        if self.accent:
            light += _accent_rules(self.accent, LIGHT_PAPER, LIGHT_INK, fallback="#0b5394")
            dark += _accent_rules(self.accent, DARK_PAPER, DARK_INK, fallback=DARK_LINK)
        out = [f":root {{ {' '.join(light)} }}"] if light else []
        if self.scheme == "dark":
            out.append(_dark(dark))
        elif self.scheme == "auto":
            out.append("@media (prefers-color-scheme: dark) {\n" + _dark(dark) + "\n}")
        return "\n".join(out) + "\n"


def _font_css(names: tuple[str, ...]) -> str:
    # Each name is letters, digits, spaces and hyphens only (FONT_NAME), so quoting is safe.
    quoted = [n if n.lower() in GENERIC_FONTS else f'"{n}"' for n in names]
    return ", ".join([*quoted, FALLBACK_FONTS])


def _accent_rules(accent: str, paper: str, ink: str, *, fallback: str) -> list[str]:
    """The accent for buttons (with whichever of white or ink reads on it) and, when it has
    4.5:1 against the paper, for links too; else links keep a colour that does (WCAG AA)."""
    on_accent = (
        "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, LIGHT_INK) else LIGHT_INK
    )
    link = accent if contrast(accent, paper) >= 4.5 else fallback
    return [
        f"--accent: {accent};",
        f"--accent-dark: {accent};",
        f"--on-accent: {on_accent};",
        f"--link: {link};",
        f"--link-hover: {ink};",
    ]


def _dark(accent_rules: list[str]) -> str:
    palette = (
        f"--ink: {DARK_INK}; --muted: #b9bec4; --paper: {DARK_PAPER}; --soft: #1f2328; "
        "--line: #4a5058; --field: #1b1f24; --note: #1d2a38; --derived: #2e2614; "
        f"--link: {DARK_LINK}; --link-hover: #ffffff; --error: #ff8a80; color-scheme: dark;"
    )
    return f":root {{ {palette} {' '.join(accent_rules)} }}"


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
