"""Attention blocks, one per file, each registered with ``@attention_block(key)``
(``factory.py``), which also lists it for ``build_attention(key, channels)``.
Importing a block's module here is what registers it."""
from .attention_probe import PROBE_LAYOUTS, AttentionProbe
from .cbam import CBAM
from .coord_attention import CoordinateAttention
from .criss_cross import RecurrentCrissCrossAttention
from .danet import DANetChannelAttention, DANetPositionAttention, DualAttention
from .eca import EfficientChannelAttention
from .ese import EffectiveSqueezeExcitation
from .factory import ATTENTION_BLOCKS, CONV_REPLACING, attention_block, build_attention
from .frozen_batch_norm import FrozenBatchNorm2d
from .global_context import GlobalContextBlock
from .mbconv_se import MBConvSqueezeExcitation
from .non_local import NonLocalAttention
from .psa import PyramidSqueezeAttention
from .scse import SpatialChannelSqueezeExcitation
from .se import SqueezeExcitation
from .sk import SelectiveKernel
from .spatial_attention import SpatialAttentionModule

__all__ = [
    'AttentionProbe', 'PROBE_LAYOUTS', 'ATTENTION_BLOCKS', 'CONV_REPLACING', 'attention_block',
    'build_attention', 'FrozenBatchNorm2d', 'SqueezeExcitation', 'EffectiveSqueezeExcitation',
    'PyramidSqueezeAttention', 'CBAM', 'SpatialChannelSqueezeExcitation', 'CoordinateAttention',
    'NonLocalAttention', 'RecurrentCrissCrossAttention', 'DANetPositionAttention',
    'DANetChannelAttention', 'DualAttention', 'SelectiveKernel', 'MBConvSqueezeExcitation',
    'EfficientChannelAttention', 'GlobalContextBlock', 'SpatialAttentionModule'
]
