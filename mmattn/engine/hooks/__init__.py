from .epoch_reseed_hook import EpochReseedHook
from .metrics_json_hook import MetricsJSONHook

__all__ = ['EpochReseedHook', 'MetricsJSONHook']
