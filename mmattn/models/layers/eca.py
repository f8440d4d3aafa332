"""Efficient Channel Attention (Wang et al., "ECA-Net", CVPR 2020), as in
``BangguWu/ECANet: models/eca_module.py``."""
import math
from typing import Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import check_int
from ..utils.functional import check_feature_map, global_avg
from .attention_probe import AttentionProbe
from .factory import attention_block


def eca_kernel_size(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """ECA-Net's adaptive kernel size: nearest odd of |log2(C)/gamma + b/gamma|."""
    t = int(abs((math.log2(channels) + beta) / gamma))
    return t if t % 2 else t + 1


@attention_block('eca')
class EfficientChannelAttention(BaseModule):
    """GAP -> 1D conv (no bias) across channels -> sigmoid -> x * s.

    The official module takes a fixed ``k_size=3``, the default here;
    ``kernel_size='adaptive'`` uses the paper's rule
    ``k = odd(|log2(C) / 2 + 1 / 2|)``.
    """

    def __init__(self, in_channels: int, kernel_size: Union[int, str] = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_int(name, 'in_channels', in_channels)
        if kernel_size == 'adaptive':
            kernel_size = eca_kernel_size(in_channels)
        check_int(name, 'kernel_size', kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"{name}: kernel_size={kernel_size} must be odd or 'adaptive'")
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.probe = AttentionProbe('channel')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(self, x, self.in_channels)
        n, c = x.shape[:2]
        y = self.conv(global_avg(x).reshape(n, 1, c))
        return x * self.probe(torch.sigmoid(y).reshape(n, c, 1, 1))
