"""The trainer's pure core: no sockets, no tasks, no Textual, no files, no hidden clock."""
from .policy import ComplementTable, Decision, SeedPolicy
from .reputation import ReputationBook, ScoreChange
from .trainer import CommandError, NetworkedKernelTrainer

__all__ = ["ComplementTable", "CommandError", "Decision", "NetworkedKernelTrainer", "ReputationBook",
           "ScoreChange", "SeedPolicy"]
