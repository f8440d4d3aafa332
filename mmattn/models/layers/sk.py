"""Selective Kernel convolution (Li et al., "Selective Kernel Networks",
CVPR 2019; official code is Caffe, ``implus/SKNet``)."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmattn.utils.errors import UsageError
from ..utils.arguments import check_divisible, check_int, reduced_channels
from ..utils.functional import global_avg
from .attention_probe import AttentionProbe
from .factory import attention_block


@attention_block('sk', replaces_conv=True)
class SelectiveKernel(BaseModule):
    """SK: a drop-in replacement for a 3x3 convolution.

    M branches of 3x3 grouped convs (branch i has dilation i + 1, i.e. 3x3 and
    an effective 5x5), each with BN + ReLU; their sum is pooled (GAP), reduced
    by a 1x1 conv to ``d = max(out_channels // r, min_channels)``
    (+BN+ReLU), expanded by a 1x1 conv to ``M * out_channels``; a softmax
    across branches weighs them; the output is the weighted sum.

    Defaults: M=2, groups=32, r=16 (``rd_ratio=1/16``), L=32 (``min_channels``),
    the paper's SKNet-50; ``rd_channels``/``rd_divisor`` as in timm. The
    reducing conv has no bias (BN follows it); the selecting conv has one.
    ``norm_cfg`` (BN, as official) is every norm's: the one after the pooling
    sees one value per channel and image, so BN cannot train on one image per
    process; use GN (``dict(type='GN', num_groups=G)``) or SyncBN there.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 stride: int = 1,
                 num_branches: int = 2,
                 groups: int = 32,
                 rd_ratio: float = 1 / 16,
                 rd_channels: Optional[int] = None,
                 rd_divisor: int = 1,
                 min_channels: int = 32,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        out_channels = in_channels if out_channels is None else out_channels
        check_int(name, 'in_channels', in_channels)
        check_int(name, 'out_channels', out_channels)
        check_int(name, 'stride', stride)
        check_int(name, 'num_branches', num_branches)
        check_int(name, 'groups', groups)
        check_int(name, 'min_channels', min_channels)
        check_divisible(name, 'in_channels', in_channels, groups, 'groups')
        check_divisible(name, 'out_channels', out_channels, groups, 'groups')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_branches = num_branches
        self.branches = nn.ModuleList(
            ConvModule(in_channels, out_channels, 3, stride=stride, padding=i + 1,
                       dilation=i + 1, groups=groups, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for i in range(num_branches))
        hidden = reduced_channels(name, out_channels, rd_ratio, rd_channels, rd_divisor,
                                  min_channels)
        self.fc_reduce = ConvModule(out_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.fc_select = nn.Conv2d(hidden, num_branches * out_channels, 1, bias=True)
        self.probe = AttentionProbe('branch')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if self.training and n == 1 and isinstance(self.fc_reduce.norm, nn.BatchNorm2d):
            raise UsageError(
                f'{type(self).__name__}: its BatchNorm after global pooling cannot train on one '
                "image per process (PyTorch: 'Expected more than 1 value per channel'); set "
                "norm_cfg=dict(type='GN', num_groups=8) (or SyncBN across processes), or "
                'train on more images per process')
        feats = torch.stack([branch(x) for branch in self.branches], dim=1)  # N,M,C,H,W
        logits = self.fc_select(self.fc_reduce(global_avg(feats.sum(dim=1))))
        weights = self.probe(torch.softmax(
            logits.reshape(n, self.num_branches, self.out_channels, 1, 1), dim=1))
        return (feats * weights).sum(dim=1)
