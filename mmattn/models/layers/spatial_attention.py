"""Spatial Attention Module of CenterMask's SAG-Mask head (Lee & Park,
"CenterMask: Real-Time Anchor-Free Instance Segmentation", CVPR 2020), as in
``youngwanLEE/centermask2: centermask/modeling/centermask/sam.py``.

Factory key ``'sam'``, the official module's name; the file spells it out.
"""
import torch
import torch.nn as nn
from mmengine.model import BaseModule, kaiming_init

from ..utils.arguments import check_choice
from ..utils.functional import check_feature_map
from .attention_probe import AttentionProbe
from .factory import attention_block


@attention_block('sam')
class SpatialAttentionModule(BaseModule):
    """SAM: ``x * sigmoid(conv([mean over C, max over C]))``.

    The channel-wise mean and max are concatenated in that order (CBAM's
    spatial gate puts max first and adds a BN; SAM has neither), the KxK
    convolution maps 2 -> 1 channel without bias and is MSRA-filled (Kaiming
    normal, fan-out) as in the official code. ``kernel_size`` is 3 (official)
    or 7. Works on 0 RoIs (an empty batch gives an empty output).
    The module has no per-channel weights; ``in_channels`` (as the block
    factory and plugins give it) fixes the channels it accepts, None any.
    """

    def __init__(self, in_channels: int = None, kernel_size: int = 3, init_cfg=None) -> None:
        super().__init__(init_cfg)
        check_choice(type(self).__name__, 'kernel_size', kernel_size, (3, 7))
        self.in_channels = in_channels
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.probe = AttentionProbe('spatial')
        self.init_weights()

    def init_weights(self) -> None:
        if self.init_cfg is None:
            kaiming_init(self.conv, mode='fan_out', nonlinearity='relu', distribution='normal')
        else:
            super().init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(self, x, self.in_channels)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * self.probe(torch.sigmoid(self.conv(pooled)))
