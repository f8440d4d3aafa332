"""Training-time pieces: a runner with atomic, weights_only-safe checkpoints
that refuses weights that do not fit, checkpoint discovery for resume, and
hooks."""
from .hooks import EpochReseedHook, MetricsJSONHook, SafeCheckpointHook
from .latest_checkpoint import find_latest_valid_checkpoint
from .runner import SafeCheckpointRunner, add_hook, build_runner

__all__ = ['find_latest_valid_checkpoint', 'EpochReseedHook', 'MetricsJSONHook',
           'SafeCheckpointHook', 'SafeCheckpointRunner', 'add_hook', 'build_runner']
