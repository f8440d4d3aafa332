"""Training-time pieces: a runner with atomic, weights_only-safe checkpoints,
checkpoint discovery for resume, loading without running code, and hooks."""
from .checkpoint import find_latest_valid_checkpoint, is_complete_checkpoint
from .hooks import EpochReseedHook, MetricsJSONHook, SafeCheckpointHook
from .runner import SafeCheckpointRunner
from .safe_load import SkippedObject, load_checkpoint_file, numpy_safe_globals

__all__ = ['find_latest_valid_checkpoint', 'is_complete_checkpoint', 'load_checkpoint_file',
           'numpy_safe_globals', 'SkippedObject', 'EpochReseedHook', 'MetricsJSONHook',
           'SafeCheckpointHook', 'SafeCheckpointRunner']
