"""Theme files: one ``textual.theme.Theme`` per TOML file.

Schema (every colour is any colour Textual parses: ``#rrggbb``, ``rgb(...)``, a name)::

    name = "collab-dark"          # required, what the palette and the config call it
    dark = true                   # optional, default true
    primary = "#4aa8ff"           # required
    secondary = "..."             # optional: secondary accent warning error success
    accent = "..."                #           foreground background surface panel boost
    ...
    [variables]                   # optional: Textual design variables, name -> value
    "footer-key-foreground" = "#4aa8ff"

The shipped themes live in the ``collab_tui.themes`` package (``themes/`` in a source
checkout); a user's own live in ``<config dir>/themes/*.toml``. A bad file never stops
the app: it is reported (file name and problem) and skipped.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from textual.color import Color, ColorParseError
from textual.theme import Theme

from .widgets.cells import Palette

DEFAULT_THEME = "collab-dark"
COLOUR_FIELDS = ("primary", "secondary", "accent", "warning", "error", "success",
                 "foreground", "background", "surface", "panel", "boost")
KNOWN_FIELDS = ("name", "dark", "variables", "luminosity_spread", "text_alpha", *COLOUR_FIELDS)


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ThemeLoad:
    themes: list[Theme]
    problems: list[str]


def theme_from_mapping(doc: dict[str, Any], source: str) -> Theme:
    """Build a Theme from a parsed TOML document; ``source`` names it in errors."""
    unknown = sorted(set(doc) - set(KNOWN_FIELDS))
    if unknown:
        raise ThemeFileError(f"theme file {source}: unknown key {unknown[0]!r} "
                             f"(known: {', '.join(KNOWN_FIELDS)})")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"theme file {source}: 'name' must be a non-empty string")
    if "primary" not in doc:
        raise ThemeFileError(f"theme file {source}: 'primary' colour is required")
    colours: dict[str, str] = {}
    for key in COLOUR_FIELDS:
        if key not in doc:
            continue
        value = doc[key]
        if not isinstance(value, str):
            raise ThemeFileError(f"theme file {source}: {key!r} must be a colour string, got {value!r}")
        try:
            Color.parse(value)
        except ColorParseError:
            raise ThemeFileError(f"theme file {source}: {key!r} is not a colour: {value!r}") from None
        colours[key] = value
    dark = doc.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"theme file {source}: 'dark' must be true or false, got {dark!r}")
    extra: dict[str, float] = {}
    for key in ("luminosity_spread", "text_alpha"):
        if key in doc:
            value = doc[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ThemeFileError(f"theme file {source}: {key!r} must be a number between 0 and 1")
            extra[key] = float(value)
    variables = doc.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"theme file {source}: [variables] must be a table")
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ThemeFileError(f"theme file {source}: variable {key!r} must be a string, got {value!r}")
    return Theme(name=name.strip(), dark=dark, variables=dict(variables), **colours, **extra)


def load_theme_file(path: Path) -> Theme:
    """Read one theme file. Raises ThemeFileError naming the file and the problem."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ThemeFileError(f"theme file {path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ThemeFileError(f"theme file {path}: is not valid UTF-8 (byte {exc.start})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"theme file {path}: is not valid TOML: {exc}") from None
    return theme_from_mapping(doc, str(path))


def shipped_theme_files() -> list[Path]:
    """The theme files shipped with the package (or the checkout's ``themes/``)."""
    try:
        root = resources.files("collab_tui.themes")
        files = [Path(str(entry)) for entry in root.iterdir() if entry.name.endswith(".toml")]
        if files:
            return sorted(files)
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    checkout = Path(__file__).resolve().parents[2] / "themes"
    return sorted(checkout.glob("*.toml")) if checkout.is_dir() else []


def user_theme_dir() -> Path:
    """``<config dir>/themes``: next to the config file (honours COLLAB_TUI_HOME)."""
    try:
        from ..io.config import default_config_path
        return default_config_path().parent / "themes"
    except ImportError:  # pragma: no cover - io layer always present in the package
        home = os.environ.get("COLLAB_TUI_HOME")
        if home:
            return Path(home).expanduser() / "themes"
        from platformdirs import user_config_dir
        return Path(user_config_dir("collab-tui")) / "themes"


def load_themes(extra_dirs: Iterable[Path] = ()) -> ThemeLoad:
    """Shipped themes, then user themes (a user theme may replace a shipped one by name)."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    files = list(shipped_theme_files())
    for directory in extra_dirs:
        if directory.is_dir():
            files += sorted(directory.glob("*.toml"))
    for path in files:
        try:
            theme = load_theme_file(path)
        except ThemeFileError as exc:
            problems.append(str(exc))
            continue
        themes[theme.name] = theme
    return ThemeLoad(list(themes.values()), problems)


def theme_palette(variables: dict[str, str]) -> Palette:
    """The colours the tables draw with, from a theme's CSS variables (``App.get_css_variables``)."""
    muted = _hex(_blend(variables.get("foreground"), variables.get("background"), 0.45), "#808080")
    return Palette(success=_hex(variables.get("success"), "#4fd18b"), error=_hex(variables.get("error"), "#ff5f6d"),
                   warning=_hex(variables.get("warning"), "#f2c14e"), muted=muted,
                   accent=_hex(variables.get("accent"), "#ffb347"))


def _hex(value: str | None, default: str) -> str:
    """A theme colour as a hex string Rich can draw; ``default`` when there is none.

    ANSI themes (ansi-dark, ansi-light, …) name terminal colours ("ansi_green") that have
    no hex value: cells then use the default palette colour.
    """
    if not value:
        return default
    try:
        color = Color.parse(value)
    except Exception:
        return default
    if color.ansi is not None:
        return default
    return color.hex


def _blend(foreground: str | None, background: str | None, factor: float) -> str | None:
    try:
        fg, bg = Color.parse(foreground or ""), Color.parse(background or "")
    except Exception:
        return None
    if fg.ansi is not None or bg.ansi is not None:
        return None
    return fg.blend(bg, factor).hex
