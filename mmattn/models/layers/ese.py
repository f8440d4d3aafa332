"""Effective Squeeze-Excitation (Lee & Park, "CenterMask: Real-Time Anchor-Free
Instance Segmentation", CVPR 2020), as in ``youngwanLEE/vovnet-detectron2``."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.arguments import check_choice, check_int
from ..utils.functional import global_avg, hard_sigmoid
from .attention_probe import AttentionProbe
from .factory import attention_block


@attention_block('ese')
class EffectiveSqueezeExcitation(BaseModule):
    """eSE: GAP -> one 1x1 conv C->C (bias) -> hard sigmoid -> x * s.

    The single full-width FC avoids SE's channel reduction. The gate is
    ``relu6(x + 3) / 6`` as in the official code (mmcv < 1.4.4's ``HSigmoid``
    was ``(x + 1) / 2``, a different function). ``gate='sigmoid'`` offers the
    plain sigmoid. The conv is named ``fc`` like the official ``eSEModule`` so
    official weights load unchanged.
    """

    def __init__(self, in_channels: int, gate: str = 'hard_sigmoid', init_cfg=None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_int(name, 'in_channels', in_channels)
        self.gate_fn = {'hard_sigmoid': hard_sigmoid, 'sigmoid': torch.sigmoid}[
            check_choice(name, 'gate', gate, ('hard_sigmoid', 'sigmoid'))]
        self.in_channels = in_channels
        self.fc = nn.Conv2d(in_channels, in_channels, 1, bias=True)
        self.probe = AttentionProbe('channel')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.probe(self.gate_fn(self.fc(global_avg(x))))
