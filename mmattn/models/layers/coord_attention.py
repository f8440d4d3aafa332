"""Coordinate Attention (Hou et al., CVPR 2021), as in
``houqb/CoordAttention: coordatt.py``.

Factory key ``'coord'``: the file says what the short key abbreviates.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from ..utils.arguments import check_int, reduced_channels
from ..utils.functional import hard_swish
from .attention_probe import AttentionProbe
from .block_norms import NormsFollowBlockMixin
from .factory import attention_block


@attention_block('coord')
class CoordinateAttention(NormsFollowBlockMixin, BaseModule):
    """Pool along W and along H, a shared 1x1 conv (bias) -> BN -> h_swish on
    the two concatenated strips, then one 1x1 conv (bias) + sigmoid per
    direction; ``out = x * a_h * a_w``.

    Hidden width ``mip = max(min_channels, in_channels // 32)`` as officially
    (``rd_ratio=1/32``, ``min_channels=8``; ``rd_channels``/``rd_divisor`` as in
    timm).
    Layer names follow the official code (conv1, bn1, conv_h, conv_w). The
    official module also allows ``oup != inp``; as a plugin this block keeps
    the channel count. ``norms_follow_block``: see
    ``block_norms.py`` (a backbone's ``norm_eval`` does not freeze this
    block's BN unless it is False).
    """

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 32,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, min_channels: int = 8,
                 norm_cfg: dict = dict(type='BN'), norms_follow_block: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.norms_follow_block = norms_follow_block
        name = type(self).__name__
        check_int(name, 'min_channels', min_channels)
        mip = reduced_channels(name, in_channels, rd_ratio, rd_channels, rd_divisor,
                               min_channels)
        self.in_channels = in_channels
        self.conv1 = nn.Conv2d(in_channels, mip, 1, bias=True)
        self.bn1 = build_norm_layer(norm_cfg, mip)[1]
        self.conv_h = nn.Conv2d(mip, in_channels, 1, bias=True)
        self.conv_w = nn.Conv2d(mip, in_channels, 1, bias=True)
        self.probe_h = AttentionProbe('height')
        self.probe_w = AttentionProbe('width')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._sync_norm_modes()
        h, w = x.shape[-2:]
        x_h = x.mean(dim=3, keepdim=True)                      # N, C, H, 1
        x_w = x.mean(dim=2, keepdim=True).transpose(2, 3)      # N, C, W, 1
        y = hard_swish(self.bn1(self.conv1(torch.cat([x_h, x_w], dim=2))))
        y_h, y_w = torch.split(y, [h, w], dim=2)
        a_h = self.probe_h(torch.sigmoid(self.conv_h(y_h)))
        a_w = self.probe_w(torch.sigmoid(self.conv_w(y_w.transpose(2, 3))))
        return x * a_w * a_h
