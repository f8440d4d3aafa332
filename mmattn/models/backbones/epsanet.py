"""EPSANet (Zhang et al., "EPSANet: An Efficient Pyramid Squeeze Attention
Block on Convolutional Neural Network", 2021), as in ``murufeng/EPSANet:
models/epsanet.py``, on top of mmdet's ResNet."""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmdet.models.backbones.resnet import Bottleneck, ResNet

from mmattn.registry import register
from ..layers import PyramidSqueezeAttention
from ..utils.activation_checkpoint import checkpoint_keeping_norm_stats, is_training_step
from ..utils.arguments import check_stage_arguments
from ..utils.channels_last import as_nchw, in_compute_layout, init_channels_last
from .pretrained import PretrainedWeightsMixin, split_pretrained


class EPSABottleneck(Bottleneck):
    """mmdet's ResNet bottleneck with its 3x3 ``conv2`` replaced by PSA
    (the official ``EPSABlock``). The stride sits on PSA's convolutions
    (``style='pytorch'``); everything else (norms, plugins, zero-init of the
    last norm, ``with_cp``) is mmdet's. The forward is mmdet's
    ``Bottleneck.forward`` (``tests/test_epsanet.py`` holds the two equal,
    plugins included) except under ``with_cp``: the recomputation leaves the
    BatchNorm statistics as the first forward left them, where mmdet's
    updates them twice, and every training step is checkpointed
    (``activation_checkpoint``).
    """

    def __init__(self, inplanes: int, planes: int,
                 psa_kernels: Sequence[int] = (3, 5, 7, 9),
                 psa_groups: Sequence[int] = (1, 4, 8, 16),
                 psa_rd_ratio: float = 1 / 16, **kwargs) -> None:
        super().__init__(inplanes, planes, **kwargs)
        self.conv2 = PyramidSqueezeAttention(
            planes, planes, stride=self.conv2_stride, kernels=psa_kernels,
            groups=psa_groups, rd_ratio=psa_rd_ratio)

    def _residual_sum(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        if self.with_plugins:
            out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.relu(self.norm2(self.conv2(out)))
        if self.with_plugins:
            out = self.forward_plugin(out, self.after_conv2_plugin_names)
        out = self.norm3(self.conv3(out))
        if self.with_plugins:
            out = self.forward_plugin(out, self.after_conv3_plugin_names)
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.with_cp and is_training_step(self)):
            return self.relu(self._residual_sum(x))
        return self.relu(checkpoint_keeping_norm_stats(self._residual_sum, x, module=self))


@register(root=True)  # every codebase's scope (mmseg, mmpretrain...) finds it
@register()
class EPSANet(PretrainedWeightsMixin, ResNet):
    """EPSANet-50/101 with mmdet's backbone contract.

    State-dict names equal the official model's (torchvision ResNet names plus
    ``conv2.conv_1..conv_4`` and ``conv2.se.fc1/fc2``), so a checkpoint saved by
    the official ``main.py`` (``{'state_dict': {'module.conv1.weight': ...}}``,
    classifier included) loads through
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` as is: mmengine strips
    ``module.`` and skips the classifier.

    Args:
        depth: 50 or 101.
        psa_kernels, psa_groups: PSA branches; the official "small" setting by
            default. The paper's "large" variant has no official code and is
            not offered (its group settings cannot be derived exactly).
        psa_rd_ratio: the hidden width of PSA's SE, relative to a branch's
            width (official: ``// 16``).
        channels_last: compute in NHWC (default True: PSA's grouped convs are
            faster so, in training too; docs/benchmarks.md), returning NCHW feature
            maps; numerically the same function. ``'auto'``: NHWC except for
            CPU training steps (as VoVNet's default); False: never.
        Everything else: as mmdet's ``ResNet`` (``out_indices``,
        ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``with_cp``,
        ``zero_init_residual``, ``plugins``, ``init_cfg``...). ``dcn`` and
        dilations other than 1 are refused: PSA replaces the conv they act on.
    """

    arch_settings = {50: (EPSABottleneck, (3, 4, 6, 3)),
                     101: (EPSABottleneck, (3, 4, 23, 3))}

    def __init__(self,
                 depth: int = 50,
                 psa_kernels: Sequence[int] = (3, 5, 7, 9),
                 psa_groups: Sequence[int] = (1, 4, 8, 16),
                 psa_rd_ratio: float = 1 / 16,
                 channels_last: Union[bool, str] = True,
                 num_stages: int = 4,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 strides: Sequence[int] = (1, 2, 2, 2),
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 dcn=None,
                 **kwargs) -> None:
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ValueError(f'{name}: depth={depth!r} is invalid; expected one of '
                             f'{tuple(self.arch_settings)}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'{name}: num_stages={num_stages} is invalid; expected 1..4')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f'{name}: strides={tuple(strides)} and dilations='
                             f'{tuple(dilations)} must have num_stages={num_stages} entries')
        check_stage_arguments(name, num_stages, out_indices, frozen_stages)
        if dcn is not None or any(stage_with_dcn):
            raise ValueError(f'{name}: dcn={dcn!r} is not supported; PSA replaces '
                             'the 3x3 conv that DCN would deform')
        if any(d != 1 for d in dilations):
            raise ValueError(f'{name}: dilations={tuple(dilations)} is invalid; PSA '
                             'convolutions are not dilated, expected all 1')
        if kwargs.get('pretrained') is not None:
            raise ValueError(f"{name}: pretrained= is deprecated; use "
                             "init_cfg=dict(type='Pretrained', checkpoint=PATH)")
        # Validate PSA settings once, with PSA's own messages, at the smallest width.
        PyramidSqueezeAttention(kwargs.get('base_channels', 64), kwargs.get('base_channels', 64),
                                kernels=psa_kernels, groups=psa_groups, rd_ratio=psa_rd_ratio)
        self.psa_kernels = tuple(psa_kernels)
        self.psa_groups = tuple(psa_groups)
        self.psa_rd_ratio = psa_rd_ratio
        super().__init__(depth=depth, num_stages=num_stages, out_indices=out_indices,
                         frozen_stages=frozen_stages, dilations=dilations,
                         strides=strides, stage_with_dcn=stage_with_dcn[:num_stages],
                         dcn=None, **kwargs)
        init_channels_last(self, channels_last)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """mmdet's ``ResNet.forward`` in the layout ``channels_last`` asks for;
        NCHW feature maps."""
        return as_nchw(super().forward(in_compute_layout(self, x)))

    def train(self, mode: bool = True) -> 'EPSANet':
        super().train(mode)  # mmdet's ResNet.train returns None; nn.Module's returns self
        return self

    def make_res_layer(self, **kwargs):
        return super().make_res_layer(psa_kernels=self.psa_kernels,
                                      psa_groups=self.psa_groups,
                                      psa_rd_ratio=self.psa_rd_ratio, **kwargs)

    @classmethod
    def missing_weights_advice(cls, cfg_path: str, cfg: dict) -> List[str]:
        depth = cfg.get('depth') or 50
        return [f'pre-train them (no official EPSANet weights were ever released): bash '
                f'tools/dist_train.sh configs/epsanet/imagenet/epsanet{depth}_8xb32_in1k.py 8 '
                '(a checkpoint written by the official main.py loads too)',
                f'use a checkpoint you have: --cfg-options {cfg_path}.init_cfg.checkpoint=PATH',
                'train from scratch: configs/epsanet/scratch/ (or --cfg-options '
                f'{cfg_path}.init_cfg=None {cfg_path}.frozen_stages=-1 '
                f'{cfg_path}.norm_eval=False)']

    def init_weights(self) -> None:
        super().init_weights()
        # mmdet's ResNet zero-inits norm3 only for blocks that *are* its
        # Bottleneck (an identity check), so do it here for EPSABottleneck,
        # under the same condition (no pretrained checkpoint).
        if self.zero_init_residual and split_pretrained(self.init_cfg)[1] is None:
            for m in self.modules():
                if isinstance(m, EPSABottleneck):
                    nn.init.zeros_(m.norm3.weight)
                    nn.init.zeros_(m.norm3.bias)
