"""Training-time pieces: a runner with atomic, weights_only-safe checkpoints
that refuses weights that do not fit, checkpoint discovery for resume, and
hooks."""
from .checkpoint import find_latest_valid_checkpoint
from .hooks import EpochReseedHook, MetricsJSONHook, SafeCheckpointHook
from .runner import SafeCheckpointRunner

__all__ = ['find_latest_valid_checkpoint', 'EpochReseedHook', 'MetricsJSONHook',
           'SafeCheckpointHook', 'SafeCheckpointRunner']
