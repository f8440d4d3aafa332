"""Build an attention block by short name."""
from typing import Dict, Type

import torch.nn as nn

from .cbam import CBAM
from .coord_attention import CoordinateAttention
from .criss_cross import RecurrentCrissCrossAttention
from .danet import DANetChannelAttention, DANetPositionAttention, DualAttention
from .eca import EfficientChannelAttention
from .ese import EffectiveSqueezeExcitation
from .global_context import GlobalContextBlock
from .mbconv_se import MBConvSqueezeExcitation
from .non_local import NonLocalAttention
from .psa import PyramidSqueezeAttention
from .scse import SpatialChannelSqueezeExcitation
from .se import SqueezeExcitation
from .sk import SelectiveKernel
from .spatial_attention import SpatialAttentionModule

ATTENTION_BLOCKS: Dict[str, Type[nn.Module]] = {
    'se': SqueezeExcitation,
    'ese': EffectiveSqueezeExcitation,
    'psa': PyramidSqueezeAttention,
    'cbam': CBAM,
    'scse': SpatialChannelSqueezeExcitation,
    'coord': CoordinateAttention,
    'nonlocal': NonLocalAttention,
    'cc': RecurrentCrissCrossAttention,
    'pam': DANetPositionAttention,
    'cam': DANetChannelAttention,
    'danet': DualAttention,
    'sk': SelectiveKernel,
    'mbconv_se': MBConvSqueezeExcitation,
    'eca': EfficientChannelAttention,
    'gc': GlobalContextBlock,
    'sam': SpatialAttentionModule,
}

# Blocks that replace a convolution (they take out_channels and stride) rather
# than gate a feature map; used by backbones, not as ResNet plugins.
CONV_REPLACING = frozenset({'psa', 'sk'})


def build_attention(name: str, in_channels: int, **kwargs) -> nn.Module:
    """Build the attention block called ``name`` on ``in_channels`` channels.

    ``psa`` and ``sk`` replace a convolution; when ``out_channels`` is not given
    they keep the channel count. Other keyword arguments go to the block.
    """
    if name not in ATTENTION_BLOCKS:
        raise ValueError(f'build_attention: name={name!r} is unknown; valid names: '
                         f'{", ".join(sorted(ATTENTION_BLOCKS))}')
    if name in CONV_REPLACING:
        kwargs.setdefault('out_channels', in_channels)
    return ATTENTION_BLOCKS[name](in_channels, **kwargs)
