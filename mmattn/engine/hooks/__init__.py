from .epoch_reseed_hook import EpochReseedHook
from .metrics_json_hook import MetricsJSONHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['EpochReseedHook', 'MetricsJSONHook', 'SafeCheckpointHook']
