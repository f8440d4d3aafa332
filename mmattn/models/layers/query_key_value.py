"""The query/key/value projections and zero-initialised residual scale shared
by CCNet's criss-cross attention and DANet's position attention."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import reduced_channels


class QueryKeyValueAttention(BaseModule):
    """1x1 convs (with bias) to ``in_channels // 8`` (``rd_ratio=1/8``, the
    official width; ``rd_channels``/``rd_divisor`` as in timm) for query and key and to
    ``in_channels`` for value, and ``gamma`` (starts at 0, so the block starts
    as the identity), named as in the official code."""

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 8,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        mid = reduced_channels(name, in_channels, rd_ratio, rd_channels, rd_divisor)
        self.in_channels = in_channels
        self.query_conv = nn.Conv2d(in_channels, mid, 1)
        self.key_conv = nn.Conv2d(in_channels, mid, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.zeros_(self.gamma)
