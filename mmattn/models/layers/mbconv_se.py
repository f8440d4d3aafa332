"""The squeeze-excitation of EfficientNetV2's MBConv blocks (Tan & Le,
"EfficientNetV2", ICML 2021), as in ``google/automl: efficientnetv2/
effnetv2_model.py``."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from ..utils.arguments import check_int, reduced_channels
from ..utils.functional import global_avg
from .attention_probe import AttentionProbe
from .factory import attention_block


@attention_block('mbconv_se')
class MBConvSqueezeExcitation(BaseModule):
    """GAP -> 1x1 conv (bias) to ``max(1, int(block_in_channels * rd_ratio))``
    -> SiLU -> 1x1 conv (bias) back to ``in_channels`` -> sigmoid -> x * s.

    The reduced width comes from the MBConv block's **input** channels, not
    from the expanded channels the gate acts on (``in_channels`` here); it sits
    after the depthwise conv, before the projection. As a plugin with no block
    input given, ``block_in_channels`` defaults to ``in_channels``.
    ``rd_ratio=0.25`` is the official ``se_ratio``; ``rd_channels``/``rd_divisor``
    as in timm.
    """

    def __init__(self, in_channels: int, block_in_channels: Optional[int] = None,
                 rd_ratio: float = 0.25, rd_channels: Optional[int] = None,
                 rd_divisor: int = 1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_int(name, 'in_channels', in_channels)
        block_in_channels = in_channels if block_in_channels is None else block_in_channels
        check_int(name, 'block_in_channels', block_in_channels)
        reduced = reduced_channels(name, block_in_channels, rd_ratio, rd_channels, rd_divisor,
                                   min_channels=1)
        self.in_channels = in_channels
        self.conv_reduce = nn.Conv2d(in_channels, reduced, 1, bias=True)
        self.conv_expand = nn.Conv2d(reduced, in_channels, 1, bias=True)
        self.probe = AttentionProbe('channel')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.conv_expand(F.silu(self.conv_reduce(global_avg(x)))))
        return x * self.probe(gate)
