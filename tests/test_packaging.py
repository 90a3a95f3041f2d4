"""What a non-editable `pip install .` ships: every package, the themes and the stylesheet."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# Source folder -> the package it installs as (pyproject's [tool.setuptools.package-dir]).
INSTALLED_AS = {"hub": "collab_hub", "collab_tui": "collab_tui"}


def source_packages() -> set[str]:
    found = set()
    for top, installed in INSTALLED_AS.items():
        for init in (ROOT / top).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                found.add(".".join((installed, *init.parent.relative_to(ROOT / top).parts)))
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: a stale build/ directory in the checkout could hide a missing package.
    src = tmp_path_factory.mktemp("src") / "tree"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", ".venv", "__pycache__",
                                                             "benchmarks", "tests"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    [path] = out.glob("collab_tui-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_every_package_themes_and_stylesheet(wheel):
    names = set(wheel.namelist())
    for package in source_packages():
        assert package.replace(".", "/") + "/__init__.py" in names, f"{package} is not shipped"
    for theme in (ROOT / "themes").glob("*.toml"):
        assert f"collab_tui/themes/{theme.name}" in names
    assert "collab_tui/ui/app.tcss" in names
    for script in (ROOT / "hub" / "lua").glob("*.lua"):
        assert f"collab_hub/lua/{script.name}" in names, f"{script.name} is not shipped"
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"collab_hub", "collab_tui"}, f"top-level names installed: {sorted(tops)}"  # no bare "hub"
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for script in ("collab-hub", "collab-tui", "collab-bots", "collab-sim"):
        assert script in entry_points


def test_installed_package_finds_its_themes_outside_the_source_tree(tmp_path):
    """Run from a directory where the source checkout is not importable: the installed copy is used."""
    code = ("import collab_tui.ui.themes as t, collab_tui.ui.app as a, pathlib;"
            "names = sorted(p.name for p in t.shipped_theme_files());"
            "print(names);"
            "assert (pathlib.Path(a.__file__).parent / 'app.tcss').exists();"
            "import collab_hub.lua as lua; assert 'redis.call' in lua.CLAIM and 'now_ms()' in lua.CLAIM")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("collab-dark.toml", "collab-light.toml", "collab-high-contrast.toml"):
        assert name in result.stdout
