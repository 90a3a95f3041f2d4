"""The collab-tui websocket hub: authentication, presence, routing and limits.

Stable embedding API: ``from collab_hub.server import Hub, start_hub`` and
``from collab_hub.config import HubConfig, Limits``. See docs/hub.md.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
