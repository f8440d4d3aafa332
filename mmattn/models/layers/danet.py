"""Position and channel attention of DANet (Fu et al., "Dual Attention Network
for Scene Segmentation", CVPR 2019), as in ``junfu1115/DANet:
encoding/nn/da_att.py``.

One file for the paper's two attentions and their sum, under the paper's
own names: factory keys ``'pam'`` (position), ``'cam'`` (channel) and
``'danet'`` (both).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import check_int
from ..utils.functional import check_feature_map, flatten_spatial, fp32_bmm
from .attention_probe import AttentionProbe
from .factory import attention_block
from .query_key_value import QueryKeyValueAttention


@attention_block('pam')
class DANetPositionAttention(QueryKeyValueAttention):
    """PAM: Q, K (1x1 to C//8) and V (1x1 to C); softmax over the HW x HW
    energy (no scaling, as in the official code); ``gamma * out + x`` with
    ``gamma`` starting at 0. Energy and softmax in float32 under autocast."""

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 8,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, init_cfg=None) -> None:
        super().__init__(in_channels, rd_ratio, rd_channels, rd_divisor, init_cfg)
        self.probe = AttentionProbe('pairwise')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        query = flatten_spatial(self.query_conv(x)).transpose(1, 2)   # N, HW, C'
        key = flatten_spatial(self.key_conv(x))                       # N, C', HW
        attention = torch.softmax(fp32_bmm(query, key), dim=-1)       # N, HW, HW
        size = tuple(x.shape[2:])
        attention = self.probe(attention, query_size=size, key_size=size)
        value = flatten_spatial(self.value_conv(x))                   # N, C, HW
        out = fp32_bmm(value, attention.transpose(1, 2)).to(x.dtype)
        return self.gamma * out.reshape(x.shape) + x


@attention_block('cam')
class DANetChannelAttention(BaseModule):
    """CAM: no convolutions; energy = X X^T (C x C),
    ``softmax(max(energy) - energy)`` (the official code's row-max trick, which
    makes *dissimilar* channels attend more), ``gamma * (A X) + x`` with
    ``gamma`` starting at 0. In float32 under autocast."""

    def __init__(self, in_channels: int, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.in_channels = check_int(type(self).__name__, 'in_channels', in_channels)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.probe = AttentionProbe('channel_pairwise')

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.zeros_(self.gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(self, x, self.in_channels)
        flat = flatten_spatial(x)                                     # N, C, HW
        energy = fp32_bmm(flat, flat.transpose(1, 2))                 # N, C, C
        energy = energy.amax(dim=-1, keepdim=True) - energy
        attention = self.probe(torch.softmax(energy, dim=-1))
        out = fp32_bmm(attention, flat).to(x.dtype)
        return self.gamma * out.reshape(x.shape) + x


@attention_block('danet')
class DualAttention(BaseModule):
    """DANet's two attentions in parallel, fused by sum as its head does
    (``feat_sum = sa + sc``). The residual is counted once,
    ``x + gamma_p * PAM'(x) + gamma_c * CAM'(x)``, so the block starts as the
    identity; DANet's head additionally wraps each branch in 3x3 conv-BN-ReLU
    layers, which this channel-preserving plugin leaves out."""

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 8,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.pam = DANetPositionAttention(in_channels, rd_ratio, rd_channels, rd_divisor)
        self.cam = DANetChannelAttention(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pam(x) + self.cam(x) - x
