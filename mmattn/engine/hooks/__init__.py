from .epoch_reseed_hook import EpochReseedHook
from .fuse_conv_bn_hook import FuseConvBNHook
from .metrics_json_hook import MetricsJSONHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['EpochReseedHook', 'FuseConvBNHook', 'MetricsJSONHook', 'SafeCheckpointHook']
