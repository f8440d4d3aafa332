"""Concurrent spatial and channel squeeze-excitation (Roy et al., "Concurrent
Spatial and Channel Squeeze & Excitation in Fully Convolutional Networks",
MICCAI 2018)."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import check_choice
from .attention_probe import AttentionProbe
from .factory import attention_block
from .se import SqueezeExcitation


@attention_block('scse')
class SpatialChannelSqueezeExcitation(BaseModule):
    """scSE: cSE (an SE gate) and sSE (1x1 conv C->1, sigmoid) in parallel.

    ``aggregation='add'`` (default) returns ``x*cSE + x*sSE`` as in the MICCAI
    paper and segmentation_models.pytorch; ``'max'`` the element-wise max used
    by the authors' later package; ``'mul'`` the product ``x*cSE*sSE``.
    The cSE hidden width ``rd_ratio=1/2`` is the authors' (their package's
    ``reduction_ratio=2``); segmentation_models.pytorch uses 1/16.
    """

    AGGREGATIONS = ('add', 'max', 'mul')

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 2,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1,
                 aggregation: str = 'add', init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_choice(name, 'aggregation', aggregation, self.AGGREGATIONS)
        self.in_channels = in_channels
        self.aggregation = aggregation
        self.cse = SqueezeExcitation(in_channels, rd_ratio, rd_channels, rd_divisor)
        self.sse = nn.Conv2d(in_channels, 1, 1, bias=True)
        self.channel_probe = AttentionProbe('channel')
        self.spatial_probe = AttentionProbe('spatial')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channel_gate = self.channel_probe(self.cse.gate(x))
        spatial_gate = self.spatial_probe(torch.sigmoid(self.sse(x)))
        if self.aggregation == 'add':
            return x * channel_gate + x * spatial_gate
        if self.aggregation == 'max':
            return torch.maximum(x * channel_gate, x * spatial_gate)
        return x * channel_gate * spatial_gate
