"""ARCHITECTURE.md's layers as a failing check: the import-linter contracts declared in
pyproject.toml ([tool.importlinter]) are run over the installed packages."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

lint = pytest.importorskip("importlinter.cli", reason="import-linter is part of the test extra")

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = lint.lint_imports(config_filename=os.fspath(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "broken" in report and " 0 broken" in report


def test_the_contracts_can_fail(tmp_path, capsys, monkeypatch):
    """A config that forbids what the code does is reported broken: the check is real."""
    monkeypatch.chdir(ROOT)
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["collab_tui"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "ui may not use io (false on purpose)"\n'
                      'type = "forbidden"\nsource_modules = ["collab_tui.ui"]\nforbidden_modules = ["collab_tui.io"]\n')
    code = lint.lint_imports(config_filename=os.fspath(config), no_cache=True, no_logo=True)
    assert code != 0 and "BROKEN" in capsys.readouterr().out
