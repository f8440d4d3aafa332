"""The query/key/value projections and zero-initialised residual scale shared
by CCNet's criss-cross attention and DANet's position attention."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import reduced_channels


class QueryKeyValueAttention(BaseModule):
    """1x1 convs (with bias) to ``in_channels // reduction`` for query and key
    and to ``in_channels`` for value, and ``gamma`` (starts at 0, so the block
    starts as the identity), named as in the official code."""

    def __init__(self, in_channels: int, reduction: int = 8, init_cfg=None) -> None:
        super().__init__(init_cfg)
        mid = reduced_channels(type(self).__name__, in_channels, reduction)
        self.in_channels = in_channels
        self.query_conv = nn.Conv2d(in_channels, mid, 1)
        self.key_conv = nn.Conv2d(in_channels, mid, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.zeros_(self.gamma)
