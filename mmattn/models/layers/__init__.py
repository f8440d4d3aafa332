"""Attention blocks, one per file; ``build_attention`` builds one by name."""
from .attention_probe import PROBE_LAYOUTS, AttentionProbe
from .cbam import CBAM
from .coord_attention import CoordinateAttention
from .criss_cross import RecurrentCrissCrossAttention
from .danet import DANetChannelAttention, DANetPositionAttention, DualAttention
from .eca import EfficientChannelAttention
from .ese import EffectiveSqueezeExcitation
from .frozen_batch_norm import FrozenBatchNorm2d
from .factory import ATTENTION_BLOCKS, CONV_REPLACING, build_attention
from .global_context import GlobalContextBlock
from .mbconv_se import MBConvSqueezeExcitation
from .non_local import NonLocalAttention
from .psa import PyramidSqueezeAttention
from .scse import SpatialChannelSqueezeExcitation
from .se import SqueezeExcitation
from .sk import SelectiveKernel
from .spatial_attention import SpatialAttentionModule

__all__ = [
    'AttentionProbe', 'PROBE_LAYOUTS', 'ATTENTION_BLOCKS', 'CONV_REPLACING', 'build_attention', 'CBAM', 'FrozenBatchNorm2d',
    'CoordinateAttention', 'RecurrentCrissCrossAttention', 'DANetChannelAttention',
    'DANetPositionAttention', 'DualAttention', 'EfficientChannelAttention',
    'EffectiveSqueezeExcitation', 'GlobalContextBlock', 'MBConvSqueezeExcitation',
    'NonLocalAttention', 'PyramidSqueezeAttention', 'SpatialChannelSqueezeExcitation',
    'SqueezeExcitation', 'SelectiveKernel', 'SpatialAttentionModule'
]
