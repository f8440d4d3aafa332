"""Training-time pieces: safe checkpoint loading, an atomic-save runner, hooks."""
from .checkpoint import (allow_mmengine_checkpoints, find_latest_valid_checkpoint,
                         is_complete_checkpoint)
from .hooks import EpochReseedHook, MetricsJSONHook
from .runner import AtomicCheckpointRunner

allow_mmengine_checkpoints()

__all__ = ['allow_mmengine_checkpoints', 'find_latest_valid_checkpoint',
           'is_complete_checkpoint', 'EpochReseedHook', 'MetricsJSONHook',
           'AtomicCheckpointRunner']
