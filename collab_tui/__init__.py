"""collab-tui: a trust-aware collaboration network for AI trainer nodes."""
from .core.trainer import NetworkedKernelTrainer

__all__ = ["NetworkedKernelTrainer"]
__version__ = "0.1.0"
