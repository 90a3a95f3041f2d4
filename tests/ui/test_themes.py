"""Theme files: the shipped ones load, bad ones are reported by name, the choice is saved."""
from __future__ import annotations

import tomllib

import pytest

from collab_tui.io.config import TrainerConfig
from collab_tui.ui.themes import ThemeFileError, load_theme_file, load_themes, shipped_theme_files

from .conftest import settle, started

SHIPPED = {"collab-dark", "collab-light", "collab-high-contrast"}


def test_shipped_themes_load_without_problems():
    result = load_themes([])
    assert SHIPPED <= {t.name for t in result.themes}
    assert result.problems == []
    light = next(t for t in result.themes if t.name == "collab-light")
    assert light.dark is False and light.primary == "#0b62c4"
    assert all(path.suffix == ".toml" for path in shipped_theme_files())


@pytest.mark.parametrize("text, problem", [
    ('name = "x"\nprimary = "#zzzzzz"\n', "'primary' is not a colour: '#zzzzzz'"),
    ('primary = "#ffffff"\n', "'name' must be a non-empty string"),
    ('name = "x"\n', "'primary' colour is required"),
    ('name = "x"\nprimary = "#ffffff"\nshiny = true\n', "unknown key 'shiny'"),
    ('name = "x"\nprimary = "#ffffff"\ndark = "yes"\n', "'dark' must be true or false"),
    ('name = "x"\nprimary = "#fff\n', "is not valid TOML"),
    ('name = "x"\nprimary = "#ffffff"\nvariables = 3\n', "[variables] must be a table"),
])
def test_bad_theme_file_names_file_and_problem(tmp_path, text, problem):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ThemeFileError) as err:
        load_theme_file(path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_user_theme_dir_themes_are_added_and_bad_ones_reported(tmp_path):
    (tmp_path / "sunset.toml").write_text('name = "sunset"\nprimary = "#ff7700"\ndark = true\n')
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = 12\n')
    result = load_themes([tmp_path])
    names = {t.name for t in result.themes}
    assert "sunset" in names and "broken" not in names
    assert len(result.problems) == 1 and "broken.toml" in result.problems[0]


async def test_bad_user_theme_notifies_and_default_is_used(make_app, clock, tmp_path):
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "neon.toml").write_text('name = "neon"\nprimary = "not-a-colour"\n')
    app = make_app(theme="neon", theme_dirs=[themes])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("neon.toml" in m and "'primary' is not a colour" in m for m in messages)
        assert any("unknown theme 'neon'" in m for m in messages)
        assert app.theme == "collab-dark"


async def test_theme_from_config_and_choice_saved(make_app, clock, tmp_path):
    path = tmp_path / "config.toml"
    config = TrainerConfig().replace(ui=dict(theme="collab-light"))
    app = make_app(config=config, config_path=path)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock)
        assert app.theme == "collab-light"
        app.theme = "collab-high-contrast"
        await pilot.pause()
        # written once the changes stop (debounced), in a worker thread
        await settle(pilot, lambda: path.exists()
                     and tomllib.loads(path.read_text())["ui"]["theme"] == "collab-high-contrast")
        # the cells are redrawn in the new theme's colours
        error = app.main.requests.palette.error
        assert error != "#FF5F6D" and error.upper().startswith("#F")       # dark theme's error was #ff5f6d
        assert app.main.requests.get_cell("in:Mallory/req-m1", "verdict").style == f"bold {error}"


async def test_theme_flag_beats_config(make_app, clock):
    app = make_app(config=TrainerConfig().replace(ui=dict(theme="collab-light")), theme="collab-high-contrast")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.theme == "collab-high-contrast"


async def test_every_available_theme_can_be_chosen_from_the_palette(make_app, clock):
    """Textual's own themes too: the ANSI ones name terminal colours that have no hex value."""
    from rich.style import Style

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock)
        for name in sorted(app.available_themes):
            app.theme = name
            await pilot.pause()
            assert app.theme == name
            palette = app.main.palette
            for colour in (palette.success, palette.error, palette.warning, palette.muted, palette.accent):
                Style.parse(colour)  # raises if Rich cannot draw it
        assert app.main.requests.row_count > 0  # the tables were rebuilt under every theme
