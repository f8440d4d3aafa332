"""Non-local block (Wang et al., "Non-local Neural Networks", CVPR 2018),
extending mmcv's ``NonLocal2d``.

Factory key ``'nonlocal'`` (the paper's word; ``non_local`` is the
module name Python allows, ``nonlocal`` being a keyword).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import NonLocal2d
from mmengine.model import constant_init, normal_init

from ..utils.arguments import check_choice, reduced_channels
from ..utils.functional import flatten_spatial
from .attention_probe import AttentionProbe
from .factory import attention_block

_MODES = ('embedded_gaussian', 'dot_product', 'gaussian', 'concatenation')


@attention_block('nonlocal')
class NonLocalAttention(NonLocal2d):
    """mmcv's ``NonLocal2d`` (embedded Gaussian by default, ``C // 2`` embedding
    channels (``rd_ratio=1/2``), energy
    scaled by 1/sqrt(C'), output conv zero-initialised so the block starts as
    the identity) with three fixes:

    * the HW x HW energy and its softmax run in float32 under autocast (float16
      overflows there);
    * ``reshape`` instead of ``view``, so channels_last inputs work;
    * the zero init runs again in ``init_weights()``, after a parent's
      ``init_cfg``, and bad arguments raise ``ValueError``.
    """

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 2,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, use_scale: bool = True,
                 mode: str = 'embedded_gaussian', sub_sample: bool = False,
                 zeros_init: bool = True, **kwargs) -> None:
        name = type(self).__name__
        inter = reduced_channels(name, in_channels, rd_ratio, rd_channels, rd_divisor)
        check_choice(name, 'mode', mode, _MODES)
        # mmcv sizes the embedding as in_channels // reduction (an integer)
        reduction = in_channels // inter
        if in_channels // reduction != inter:
            raise ValueError(f'{name}: an embedding of {inter} channels is not in_channels '
                             f'// reduction for any integer reduction (in_channels='
                             f'{in_channels}, as mmcv\'s NonLocal2d sizes it); choose another '
                             'rd_channels or rd_ratio')
        super().__init__(in_channels, sub_sample=sub_sample, reduction=reduction,
                         use_scale=use_scale, mode=mode, zeros_init=zeros_init, **kwargs)
        self.zeros_init = zeros_init
        self.probe = AttentionProbe('pairwise')

    def init_weights(self, std: float = 0.01, zeros_init=None) -> None:
        """mmcv's initialisation, also with ``sub_sample=True`` (where mmcv's
        own fails: the branches are then ``Sequential(conv, max-pool)``)."""
        zeros_init = getattr(self, 'zeros_init', True) if zeros_init is None else zeros_init
        branches = [self.g] if self.mode == 'gaussian' else [self.g, self.theta, self.phi]
        for branch in branches:
            normal_init((branch[0] if isinstance(branch, nn.Sequential) else branch).conv,
                        std=std)
        out = self.conv_out.conv if self.conv_out.norm_cfg is None else self.conv_out.norm
        if zeros_init:
            constant_init(out, 0)
        else:
            normal_init(out, std=std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g_map = self.g(x)                                         # N, C', H', W'
        g_x = flatten_spatial(g_map).transpose(1, 2)              # N, H'W', C'
        if self.mode == 'gaussian':
            theta_x = flatten_spatial(x).transpose(1, 2)
            phi_x = flatten_spatial(self.phi(x) if self.sub_sample else x)
        elif self.mode == 'concatenation':
            theta_x = flatten_spatial(self.theta(x)).unsqueeze(3)
            phi_x = flatten_spatial(self.phi(x)).unsqueeze(2)
        else:
            theta_x = flatten_spatial(self.theta(x)).transpose(1, 2)
            phi_x = flatten_spatial(self.phi(x))
        with torch.autocast(device_type=x.device.type, enabled=False):
            pairwise = getattr(self, self.mode)(theta_x.float(), phi_x.float())
        pairwise = self.probe(pairwise, query_size=tuple(x.shape[2:]),
                              key_size=tuple(g_map.shape[2:]))
        y = torch.matmul(pairwise.to(g_x.dtype), g_x)             # N, HW, C'
        y = y.transpose(1, 2).reshape(n, self.inter_channels, *x.shape[2:])
        return x + self.conv_out(y)
