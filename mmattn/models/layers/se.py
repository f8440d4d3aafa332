"""Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018)."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import reduced_channels
from ..utils.functional import global_avg
from .attention_probe import AttentionProbe
from .factory import attention_block


@attention_block('se')
class SqueezeExcitation(BaseModule):
    """SE block: GAP -> FC(C, C//r) -> ReLU -> FC(C//r, C) -> sigmoid -> x * s.

    The two fully connected layers (with bias, as in the paper) are written as
    1x1 convolutions on the pooled (N, C, 1, 1) tensor, which is numerically the
    same and keeps channels_last inputs in their layout. In ResNet the paper puts
    it after the last BN of a bottleneck, before the residual add
    (``position='after_conv3'`` in mmdet's ``plugins``).

    Args:
        in_channels: channels of the input (and output).
        rd_ratio, rd_channels, rd_divisor: the hidden width, timm's convention
            (``reduced_channels``); the default is the paper's ``C // 16``.
    """

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 16,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        mid = reduced_channels(name, in_channels, rd_ratio, rd_channels, rd_divisor)
        self.in_channels = in_channels
        self.fc1 = nn.Conv2d(in_channels, mid, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(mid, in_channels, 1, bias=True)
        self.probe = AttentionProbe('channel')

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Channel weights in (0, 1), shape (N, C, 1, 1)."""
        return torch.sigmoid(self.fc2(self.relu(self.fc1(global_avg(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.probe(self.gate(x))
