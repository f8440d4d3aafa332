"""Convolutional Block Attention Module (Woo et al., ECCV 2018), as in
``Jongchan/attention-module: MODELS/cbam.py``."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from ..utils.arguments import check_int, reduced_channels
from ..utils.functional import global_avg, global_max
from .attention_probe import AttentionProbe
from .block_norms import NormsFollowBlockMixin
from .factory import attention_block


class _ChannelGate(nn.Module):
    """Shared MLP (Linear with bias) on avg- and max-pooled features, summed."""

    def __init__(self, channels: int, mid: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(channels, mid), nn.ReLU(inplace=True), nn.Linear(mid, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        logits = self.mlp(global_avg(x).reshape(n, c)) + self.mlp(global_max(x).reshape(n, c))
        return torch.sigmoid(logits).reshape(n, c, 1, 1)


class _SpatialGate(nn.Module):
    """[max over C, mean over C] (max first) -> KxK conv (no bias) -> BN -> sigmoid."""

    def __init__(self, kernel_size: int, norm_cfg: dict) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.bn = build_norm_layer(norm_cfg, 1)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.bn(self.conv(pooled)))


@attention_block('cbam')
class CBAM(NormsFollowBlockMixin, BaseModule):
    """CBAM: channel gate then spatial gate, ``x * Mc(x)`` then ``* Ms(.)``; no
    residual inside the block (the residual is the host block's).

    Defaults follow the official code: ``C // 16`` hidden units (``rd_ratio``,
    ``rd_channels``, ``rd_divisor`` as in timm), 7x7 spatial conv, BN with
    ``eps=1e-5, momentum=0.01``. ``no_spatial=True`` gives the channel-only
    variant the official code also offers. ``norms_follow_block``: see
    ``block_norms.py`` (a backbone's ``norm_eval`` does not freeze this
    block's BN unless it is False).
    """

    def __init__(self,
                 in_channels: int,
                 rd_ratio: float = 1 / 16,
                 rd_channels: Optional[int] = None,
                 rd_divisor: int = 1,
                 spatial_kernel: int = 7,
                 no_spatial: bool = False,
                 norm_cfg: dict = dict(type='BN', eps=1e-5, momentum=0.01),
                 norms_follow_block: bool = True, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.norms_follow_block = norms_follow_block
        name = type(self).__name__
        mid = reduced_channels(name, in_channels, rd_ratio, rd_channels, rd_divisor)
        check_int(name, 'spatial_kernel', spatial_kernel)
        if spatial_kernel % 2 == 0:
            raise ValueError(f'{name}: spatial_kernel={spatial_kernel} must be odd')
        self.in_channels = in_channels
        self.channel_gate = _ChannelGate(in_channels, mid)
        self.spatial_gate = None if no_spatial else _SpatialGate(spatial_kernel, norm_cfg)
        self.channel_probe = AttentionProbe('channel')
        self.spatial_probe = None if no_spatial else AttentionProbe('spatial')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._sync_norm_modes()
        x = x * self.channel_probe(self.channel_gate(x))
        if self.spatial_gate is not None:
            x = x * self.spatial_probe(self.spatial_gate(x))
        return x
