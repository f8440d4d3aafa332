"""Where a backbone computes in NHWC (``channels_last``) and returns NCHW.

Grouped and depthwise convolutions (PSA's branches, VoVNet's 3x3 chains) are
much faster in NHWC on oneDNN, and GPUs want it; oneDNN's NHWC backward of
dense 3x3 convolutions is slow on AVX2 CPUs, so ``'auto'`` computes in NHWC
except for a CPU training step (docs/benchmarks.md has the measurements). The
layout changes how the backbone computes, never what (within float rounding).
"""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn

from .arguments import check_choice

CHANNELS_LAST_CHOICES = (True, False, 'auto')


def init_channels_last(module: nn.Module, channels_last: Union[bool, str]) -> None:
    """Check the setting, keep it as ``module.channels_last`` and, for True,
    store the weights in NHWC (kept by later ``.to(device)``,
    ``load_state_dict`` and in-place initialisation)."""
    check_choice(type(module).__name__, 'channels_last', channels_last, CHANNELS_LAST_CHOICES)
    module.channels_last = channels_last
    if channels_last is True:
        module.to(memory_format=torch.channels_last)


def weights_for_mode(module: nn.Module, training: bool) -> None:
    """Under ``'auto'``, keep the weights in the layout the next calls compute
    in: NHWC for inference, NCHW for training (a CPU step computes in NCHW).
    Called by ``train()``; without it oneDNN reorders every NCHW weight on
    every NHWC inference call, a fixed cost that shows at small inputs
    (VoVNet-39 at 1x3x96x96 on AVX2: ~20%, docs/benchmarks.md)."""
    if module.channels_last == 'auto':
        module.to(memory_format=torch.contiguous_format if training else torch.channels_last)


def in_compute_layout(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` in the layout ``module.channels_last`` asks for on this call:
    NHWC for True, as it is for False, and for ``'auto'`` NHWC unless this is
    a training step (train mode, autograd on) on a CPU."""
    setting = module.channels_last
    if setting == 'auto':
        setting = not (module.training and torch.is_grad_enabled() and x.device.type == 'cpu')
    return x.contiguous(memory_format=torch.channels_last) if setting else x


def as_nchw(outputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
    """The feature maps in NCHW (mmcv's CPU RoIAlign indexes its input so)."""
    return tuple(o.contiguous() for o in outputs)
