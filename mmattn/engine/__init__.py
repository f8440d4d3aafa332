"""Training-time pieces: a runner with atomic, weights_only-safe checkpoints,
checkpoint discovery for resume, and hooks."""
from .checkpoint import allow_numpy_arrays, find_latest_valid_checkpoint, is_complete_checkpoint
from .hooks import EpochReseedHook, MetricsJSONHook, SafeCheckpointHook
from .runner import SafeCheckpointRunner

allow_numpy_arrays()

__all__ = ['allow_numpy_arrays', 'find_latest_valid_checkpoint', 'is_complete_checkpoint',
           'EpochReseedHook', 'MetricsJSONHook', 'SafeCheckpointHook', 'SafeCheckpointRunner']
