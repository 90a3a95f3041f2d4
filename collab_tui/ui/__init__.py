"""The Textual TUI: ``CollabApp`` and ``run_tui``."""
from .app import CollabApp, run_tui

__all__ = ["CollabApp", "run_tui"]
