"""Pyramid Squeeze Attention (Zhang et al., "EPSANet: An Efficient Pyramid
Squeeze Attention Block on Convolutional Neural Network", 2021), as in
``murufeng/EPSANet: models/epsanet.py``."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from ..utils.arguments import check_divisible, check_int, check_same_length, reduced_channels
from ..utils.functional import global_avg
from .attention_probe import AttentionProbe
from .factory import attention_block
from .se import SqueezeExcitation


@attention_block('psa', replaces_conv=True)
class PyramidSqueezeAttention(BaseModule):
    """PSA: a drop-in replacement for a KxK convolution.

    Each of the S branches convolves **all** input channels to
    ``out_channels // S`` channels (kernel k_i, groups g_i, padding k_i // 2,
    the stride on every branch, no bias). One SE gate (1x1 conv with bias, ReLU,
    1x1 conv, sigmoid), **shared** by all branches, weighs each branch's
    channels; a softmax across the S branches turns those into attention; the
    weighted branches are concatenated in **reversed** order (last kernel
    first), exactly as the official code does. The reversal is kept so official
    weights give identical outputs.

    The branches run as separate convolutions (their kernels and groups differ).
    A branch with one output channel per group (EPSANet's first stage, 9x9 with
    16 groups) runs as the equivalent depthwise convolution (its weight
    reshaped) followed by a sum over each group's inputs: the same function,
    faster on oneDNN (docs/benchmarks.md). The SE gate runs once on the branches'
    pooled vectors stacked in the batch dimension (equal to the official four
    calls), and the output is one concatenation (reversed) times the attention
    weights, with no stacked copy of the branch maps.

    Args:
        in_channels, out_channels: channels in and out (``out_channels``
            defaults to ``in_channels``, as an mmcv plugin maps C to C); it must
            be divisible by the number of branches.
        stride: stride of every branch.
        kernels, groups: per-branch kernel sizes (odd) and groups; official
            "small" setting (3, 5, 7, 9) / (1, 4, 8, 16).
        rd_ratio, rd_channels, rd_divisor: the SE's hidden width on the
            ``out_channels // S`` branch width (timm's convention); official
            ``(out_channels // S) // 16``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 stride: int = 1,
                 kernels: Sequence[int] = (3, 5, 7, 9),
                 groups: Sequence[int] = (1, 4, 8, 16),
                 rd_ratio: float = 1 / 16,
                 rd_channels: Optional[int] = None,
                 rd_divisor: int = 1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_int(name, 'in_channels', in_channels)
        out_channels = in_channels if out_channels is None else out_channels
        check_int(name, 'out_channels', out_channels)
        check_int(name, 'stride', stride)
        kernels, groups = tuple(kernels), tuple(groups)
        check_same_length(name, kernels=kernels, groups=groups)
        if len(kernels) < 1:
            raise ValueError(f'{name}: kernels={kernels} must name at least one branch')
        num_branches = len(kernels)
        check_divisible(name, 'out_channels', out_channels, num_branches,
                        'the number of branches len(kernels)')
        split = out_channels // num_branches
        for k, g in zip(kernels, groups):
            check_int(name, 'kernel size', k)
            if k % 2 == 0:
                raise ValueError(f'{name}: kernels={kernels} must all be odd '
                                 f'(padding k//2 keeps the size), got {k}')
            check_int(name, 'groups', g)
            check_divisible(name, 'in_channels', in_channels, g, 'groups')
            check_divisible(name, f'out_channels//{num_branches}', split, g, 'groups')
        reduced_channels(name, split, rd_ratio, rd_channels, rd_divisor)

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.kernels = kernels
        self.groups = groups
        self.split_channel = split
        # Official names: conv_1 .. conv_S and se.fc1 / se.fc2.
        for i, (k, g) in enumerate(zip(kernels, groups), start=1):
            self.add_module(
                f'conv_{i}',
                nn.Conv2d(in_channels, split, k, stride=stride, padding=k // 2,
                          groups=g, bias=False))
        self.se = SqueezeExcitation(split, rd_ratio, rd_channels, rd_divisor)
        self.probe = AttentionProbe('branch')  # (N, S, C') in kernel order

    @property
    def branches(self) -> list:
        return [getattr(self, f'conv_{i}') for i in range(1, len(self.kernels) + 1)]

    def _run_branch(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        groups, in_per_group = conv.groups, conv.in_channels // conv.groups
        if conv.out_channels != groups or in_per_group == 1:
            return conv(x)
        # One output per group: sum_i w[g, i] * x[g*k + i]  ==  a depthwise conv
        # with the reshaped weight, then a sum over each group's inputs.
        weight = conv.weight.reshape(conv.in_channels, 1, *conv.kernel_size)
        y = F.conv2d(x, weight, None, conv.stride, conv.padding, conv.dilation, conv.in_channels)
        n, _, h, w = y.shape
        if y.is_contiguous(memory_format=torch.channels_last):
            # Reduce along the innermost (channel) axis so the result stays
            # NHWC: an NCHW branch would make the concatenation, the product
            # and the next 1x1 convolution's input NCHW (one more copy).
            summed = y.permute(0, 2, 3, 1).reshape(n, h, w, groups, in_per_group).sum(dim=-1)
            return summed.permute(0, 3, 1, 2)
        return y.reshape(n, groups, in_per_group, h, w).sum(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, c = x.shape[0], len(self.kernels), self.split_channel
        feats = [self._run_branch(conv, x) for conv in self.branches]
        # Shared SE on every branch's pooled vector at once: (S*N, C', 1, 1).
        pooled = torch.cat([global_avg(f) for f in feats], dim=0)
        weights = torch.softmax(self.se.gate(pooled).reshape(s, n, c), dim=0)  # over branches
        weights = self.probe(weights.transpose(0, 1))                            # N, S, C'
        # Official quirk: concatenation in reversed branch order.
        weights = weights.flip(1).reshape(n, s * c, 1, 1)
        return torch.cat(feats[::-1], dim=1) * weights
