"""VoVNetV2 with effective SE (Lee & Park, "CenterMask: Real-Time Anchor-Free
Instance Segmentation", CVPR 2020), as in ``youngwanLEE/vovnet-detectron2:
vovnet/vovnet.py``."""
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmattn.registry import register
from ..layers import EffectiveSqueezeExcitation
from ..utils.activation_checkpoint import checkpoint_keeping_norm_stats, is_training_step
from ..utils.arguments import check_choice, check_stage_arguments
from ..utils.channels_last import as_nchw, in_compute_layout, init_channels_last, weights_for_mode
from .pretrained import PretrainedWeightsMixin

# The seven official specs: stem widths, per-stage 3x3 widths, per-stage output
# widths, 3x3 layers per OSA block, OSA blocks per stage, depthwise layers.
ARCH_SETTINGS = {
    'V-19-slim-dw-eSE': dict(stem_channels=(64, 64, 64), stage_channels=(64, 80, 96, 112),
                             out_channels=(112, 256, 384, 512), layers_per_block=3,
                             blocks_per_stage=(1, 1, 1, 1), depthwise=True),
    'V-19-dw-eSE': dict(stem_channels=(64, 64, 64), stage_channels=(128, 160, 192, 224),
                        out_channels=(256, 512, 768, 1024), layers_per_block=3,
                        blocks_per_stage=(1, 1, 1, 1), depthwise=True),
    'V-19-slim-eSE': dict(stem_channels=(64, 64, 128), stage_channels=(64, 80, 96, 112),
                          out_channels=(112, 256, 384, 512), layers_per_block=3,
                          blocks_per_stage=(1, 1, 1, 1), depthwise=False),
    'V-19-eSE': dict(stem_channels=(64, 64, 128), stage_channels=(128, 160, 192, 224),
                     out_channels=(256, 512, 768, 1024), layers_per_block=3,
                     blocks_per_stage=(1, 1, 1, 1), depthwise=False),
    'V-39-eSE': dict(stem_channels=(64, 64, 128), stage_channels=(128, 160, 192, 224),
                     out_channels=(256, 512, 768, 1024), layers_per_block=5,
                     blocks_per_stage=(1, 1, 2, 2), depthwise=False),
    'V-57-eSE': dict(stem_channels=(64, 64, 128), stage_channels=(128, 160, 192, 224),
                     out_channels=(256, 512, 768, 1024), layers_per_block=5,
                     blocks_per_stage=(1, 1, 4, 3), depthwise=False),
    'V-99-eSE': dict(stem_channels=(64, 64, 128), stage_channels=(128, 160, 192, 224),
                     out_channels=(256, 512, 768, 1024), layers_per_block=5,
                     blocks_per_stage=(1, 3, 9, 3), depthwise=False),
}


def _conv_norm_relu(prefix: str, in_ch: int, out_ch: int, kernel: int, stride: int,
                    norm_cfg: dict, conv_cfg: Optional[dict] = None) -> List[tuple]:
    """Official ``conv3x3``/``conv1x1``: '{prefix}/conv', '/norm', '/relu'."""
    conv = build_conv_layer(conv_cfg, in_ch, out_ch, kernel, stride=stride,
                            padding=kernel // 2, bias=False)
    return [(f'{prefix}/conv', conv), (f'{prefix}/norm', build_norm_layer(norm_cfg, out_ch)[1]),
            (f'{prefix}/relu', nn.ReLU(inplace=True))]


def _dw_conv_norm_relu(prefix: str, in_ch: int, out_ch: int, stride: int,
                       norm_cfg: dict) -> List[tuple]:
    """Official ``dw_conv3x3``: depthwise 3x3 (no norm), pointwise 1x1, norm, ReLU."""
    return [(f'{prefix}/dw_conv3x3', nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1,
                                               groups=out_ch, bias=False)),
            (f'{prefix}/pw_conv1x1', nn.Conv2d(in_ch, out_ch, 1, bias=False)),
            (f'{prefix}/pw_norm', build_norm_layer(norm_cfg, out_ch)[1]),
            (f'{prefix}/pw_relu', nn.ReLU(inplace=True))]


class OSABlock(nn.Module):
    """One-shot aggregation block: a chain of 3x3 conv-norm-ReLU layers whose
    outputs, with the block input, are concatenated once and fused by a 1x1
    conv-norm-ReLU, then eSE, then (blocks 2..N of a stage) the identity add.
    Submodule names are the official ones (``layers.i.OSA2_1_i/conv`` ...)."""

    def __init__(self, name: str, in_ch: int, stage_ch: int, out_ch: int, num_layers: int,
                 norm_cfg: dict, with_ese: bool, identity: bool, depthwise: bool,
                 with_cp: bool, conv_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.identity = identity
        self.with_cp = with_cp
        self.conv_reduction = None
        if depthwise and in_ch != stage_ch:
            self.conv_reduction = nn.Sequential(OrderedDict(
                _conv_norm_relu(f'{name}_reduction_0', in_ch, stage_ch, 1, 1, norm_cfg)))
        self.layers = nn.ModuleList()
        ch = in_ch
        for i in range(num_layers):
            if depthwise:
                layer = _dw_conv_norm_relu(f'{name}_{i}', stage_ch, stage_ch, 1, norm_cfg)
            else:
                layer = _conv_norm_relu(f'{name}_{i}', ch, stage_ch, 3, 1, norm_cfg, conv_cfg)
            self.layers.append(nn.Sequential(OrderedDict(layer)))
            ch = stage_ch
        self.concat = nn.Sequential(OrderedDict(_conv_norm_relu(
            f'{name}_concat', in_ch + num_layers * stage_ch, out_ch, 1, 1, norm_cfg)))
        self.ese = EffectiveSqueezeExcitation(out_ch) if with_ese else None

    def _fuse(self, pieces: List[torch.Tensor], per_piece: bool) -> torch.Tensor:
        """The 1x1 conv-norm-ReLU over the concatenated pieces. ``per_piece``:
        the conv as the sum of per-piece 1x1 convs (the weight's channel
        slices), the same function without ever materialising the
        concatenation or its gradient. That bounds the peak memory of a
        checkpointed block's recomputation and, on CPUs, saves mapping fresh
        pages for those large tensors (docs/benchmarks.md)."""
        conv, norm, relu = self.concat
        if not per_piece:
            return relu(norm(conv(torch.cat(pieces, dim=1))))
        out, start = None, 0
        for piece in pieces:
            width = piece.shape[1]
            term = F.conv2d(piece, conv.weight[:, start:start + width])
            out = term if out is None else out + term
            start += width
        return relu(norm(out))

    def _block(self, x: torch.Tensor, per_piece: bool) -> torch.Tensor:
        outputs = [x]
        y = x if self.conv_reduction is None else self.conv_reduction(x)
        for layer in self.layers:
            y = layer(y)
            outputs.append(y)
        y = self._fuse(outputs, per_piece)
        if self.ese is not None:
            y = self.ese(y)
        return y + x if self.identity else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block; checkpointed in training steps under ``with_cp``,
        BatchNorm statistics updated once."""
        training_step = is_training_step(self)
        checkpointed = self.with_cp and training_step
        per_piece = checkpointed or (training_step and x.device.type == 'cpu')
        if not checkpointed:
            return self._block(x, per_piece)
        return checkpoint_keeping_norm_stats(lambda t: self._block(t, per_piece), x, module=self)


@register(root=True)  # every codebase's scope (mmseg, mmpretrain...) finds it
@register()
class VoVNet(PretrainedWeightsMixin, BaseModule):
    """VoVNetV2-eSE backbone with mmdet's backbone contract.

    Args:
        arch: one of the seven official specs (``ARCH_SETTINGS``), or None for a
            custom spec given entirely by the next six arguments (any of them also
            overrides the named spec).
        stem_channels, stage_channels, out_channels, layers_per_block,
        blocks_per_stage, depthwise: the spec.
        ese_position: ``'every'`` (default, the official code: eSE in every OSA
            block) or ``'last'`` (eSE only in each stage's last block, as timm's
            ``ese_vovnet*b``; identical for the V-19 family).
        out_indices: stages (0..3 = stage2..stage5) whose outputs are returned.
        frozen_stages: -1 none; 0 the stem; k the stem and stages 1..k.
        norm_cfg: 'BN', 'SyncBN', 'GN' or 'FrozenBN'; norm_eval: BN in eval mode
            during training, True by default as in mmdet's ResNet and EPSANet
            (pretrained statistics stay put); set False to train from scratch.
        with_cp: gradient checkpointing of the stem and of each OSA block, whose
            fusion conv then runs per piece (no concatenation kept); the
            saving is measured in docs/benchmarks.md.
        channels_last: compute in NHWC, returning NCHW feature maps;
            numerically the same function. ``'auto'`` (default): NHWC except
            for CPU training steps, where oneDNN's NHWC backward of dense 3x3
            convs is slower (weights stored NCHW in train mode, NHWC in eval
            mode); True: always (weights stored NHWC); False: never.
        dcn, stage_with_dcn: deformable 3x3 convs in chosen stages (as
            centermask2), e.g. ``dcn=dict(type='DCNv2', deform_groups=1),
            stage_with_dcn=(False, True, True, True)``; with ``dcn`` and no
            ``stage_with_dcn``, every stage. Not for depthwise specs.
        init_cfg: mmengine init config; official weights load unchanged with
            ``dict(type='Pretrained', checkpoint=PATH)`` once converted.
    """

    arch_settings = ARCH_SETTINGS

    def __init__(self,
                 arch: Optional[str] = 'V-39-eSE',
                 in_channels: int = 3,
                 stem_channels: Optional[Sequence[int]] = None,
                 stage_channels: Optional[Sequence[int]] = None,
                 out_channels: Optional[Sequence[int]] = None,
                 layers_per_block: Optional[int] = None,
                 blocks_per_stage: Optional[Sequence[int]] = None,
                 depthwise: Optional[bool] = None,
                 ese_position: str = 'every',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = True,
                 with_cp: bool = False,
                 channels_last: Union[bool, str] = 'auto',
                 dcn: Optional[dict] = None,
                 stage_with_dcn: Optional[Sequence[bool]] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        spec = self._resolve_spec(arch, stem_channels=stem_channels,
                                  stage_channels=stage_channels, out_channels=out_channels,
                                  layers_per_block=layers_per_block,
                                  blocks_per_stage=blocks_per_stage, depthwise=depthwise)
        check_choice(name, 'ese_position', ese_position, ('every', 'last'))
        num_stages = len(spec['stage_channels'])
        check_stage_arguments(name, num_stages, out_indices, frozen_stages)
        if stage_with_dcn is None:
            stage_with_dcn = (dcn is not None,) * num_stages
        if len(stage_with_dcn) != num_stages:
            raise ValueError(f'{name}: stage_with_dcn={tuple(stage_with_dcn)} must have '
                             f'{num_stages} entries')
        if dcn is not None and spec['depthwise'] and any(stage_with_dcn):
            raise ValueError(f'{name}: dcn is not supported with depthwise specs '
                             f'(arch={arch!r})')
        self.arch = arch
        self.spec = spec
        self.ese_position = ese_position
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        stem_ch = spec['stem_channels']
        if spec['depthwise']:
            second = _dw_conv_norm_relu('stem_2', stem_ch[0], stem_ch[1], 1, norm_cfg)
            third = _dw_conv_norm_relu('stem_3', stem_ch[1], stem_ch[2], 2, norm_cfg)
        else:
            second = _conv_norm_relu('stem_2', stem_ch[0], stem_ch[1], 3, 1, norm_cfg)
            third = _conv_norm_relu('stem_3', stem_ch[1], stem_ch[2], 3, 2, norm_cfg)
        self.stem = nn.Sequential(OrderedDict(
            _conv_norm_relu('stem_1', in_channels, stem_ch[0], 3, 2, norm_cfg) + second + third))

        self.stage_names = []
        in_ch = stem_ch[2]
        for i in range(num_stages):
            stage_num = i + 2
            stage = nn.Sequential()
            if stage_num != 2:
                stage.add_module('Pooling', nn.MaxPool2d(3, stride=2, ceil_mode=True))
            num_blocks = spec['blocks_per_stage'][i]
            conv_cfg = dcn if stage_with_dcn[i] else None
            for b in range(num_blocks):
                block_name = f'OSA{stage_num}_{b + 1}'
                with_ese = ese_position == 'every' or b == num_blocks - 1
                stage.add_module(block_name, OSABlock(
                    block_name, in_ch if b == 0 else spec['out_channels'][i],
                    spec['stage_channels'][i], spec['out_channels'][i],
                    spec['layers_per_block'], norm_cfg, with_ese, identity=b > 0,
                    depthwise=spec['depthwise'], with_cp=with_cp, conv_cfg=conv_cfg))
            self.add_module(f'stage{stage_num}', stage)
            self.stage_names.append(f'stage{stage_num}')
            in_ch = spec['out_channels'][i]
        self.with_cp = with_cp
        init_channels_last(self, channels_last)
        self._freeze_stages()

    @classmethod
    def _resolve_spec(cls, arch: Optional[str], **overrides) -> dict:
        name = cls.__name__
        if arch is None:
            missing = [k for k, v in overrides.items() if v is None]
            if missing:
                raise ValueError(f'{name}: arch=None needs a full custom spec; missing '
                                 f'{", ".join(missing)}')
            spec = {}
        elif arch in cls.arch_settings:
            spec = dict(cls.arch_settings[arch])
        else:
            raise ValueError(f'{name}: arch={arch!r} is unknown; expected one of '
                             f'{tuple(cls.arch_settings)} or None for a custom spec')
        spec.update({k: v for k, v in overrides.items() if v is not None})
        for key in ('stem_channels', 'stage_channels', 'out_channels', 'blocks_per_stage'):
            spec[key] = tuple(spec[key])
        if len(spec['stem_channels']) != 3:
            raise ValueError(f'{name}: stem_channels={spec["stem_channels"]} must have 3 entries')
        n = len(spec['stage_channels'])
        if not 1 <= n <= 4 or len(spec['out_channels']) != n or len(spec['blocks_per_stage']) != n:
            raise ValueError(f'{name}: stage_channels, out_channels and blocks_per_stage must '
                             f'have the same length (1..4), got {spec["stage_channels"]}, '
                             f'{spec["out_channels"]}, {spec["blocks_per_stage"]}')
        values = (spec['stem_channels'] + spec['stage_channels'] + spec['out_channels'] +
                  spec['blocks_per_stage'] + (spec['layers_per_block'],))
        if any(not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f'{name}: every width, layer and block count must be an '
                             f'integer >= 1, got spec {spec}')
        if spec['depthwise'] and len(set(spec['stem_channels'])) != 1:
            raise ValueError(f'{name}: a depthwise stem needs equal stem_channels, got '
                             f'{spec["stem_channels"]}')
        return spec

    def _freeze_stages(self) -> None:
        modules = [self.stem] + [getattr(self, n) for n in self.stage_names]
        for m in modules[:self.frozen_stages + 1]:
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        if self.init_cfg is None:
            # Official initialisation: Kaiming-normal (fan_in) convs; norms and
            # eSE biases keep PyTorch's defaults. A deformable conv's offset
            # branch stays at zero (mmcv's init, and mmdet's ResNet's), so that
            # DCN starts as the plain conv.
            for name, m in self.named_modules():
                if isinstance(m, nn.Conv2d) and not name.endswith('conv_offset'):
                    nn.init.kaiming_normal_(m.weight)
            self._is_init = True
            return
        super().init_weights()

    @classmethod
    def missing_weights_advice(cls, cfg_path: str, cfg: dict) -> List[str]:
        return ['convert the official CenterMask / vovnet-detectron2 weights: python '
                'tools/model_converters/vovnet_detectron2_to_mmattn.py OFFICIAL.pth OUT.pth '
                '(timm\'s: timm_vovnet_to_mmattn.py)',
                f'use a checkpoint you have: --cfg-options {cfg_path}.init_cfg.checkpoint=PATH',
                f'train from scratch: --cfg-options {cfg_path}.init_cfg=None '
                f'{cfg_path}.frozen_stages=-1 {cfg_path}.norm_eval=False']

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The feature maps of ``out_indices`` (NCHW), computed in the layout
        ``channels_last`` asks for; the stem is checkpointed under ``with_cp``
        like the blocks."""
        x = in_compute_layout(self, x)
        if self.with_cp and is_training_step(self):
            x = checkpoint_keeping_norm_stats(self.stem, x, module=self.stem)
        else:
            x = self.stem(x)
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return as_nchw(outs)

    def train(self, mode: bool = True) -> 'VoVNet':
        super().train(mode)
        weights_for_mode(self, mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
