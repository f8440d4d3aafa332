"""Channels-last computation inside a backbone, NCHW at its boundary.

Grouped and depthwise convolutions (PSA's 7x7/g8 and 9x9/g16 branches,
VoVNet's 3x3 chains) are several times faster in NHWC on CPUs (oneDNN), and
NHWC is what GPU tensor cores want. Outputs are returned contiguous (NCHW)
because mmcv's CPU RoIAlign indexes its input as NCHW.

One exception, measured (docs/benchmarks.md): oneDNN's backward of dense 3x3
convolutions in NHWC is ~2.6x slower than in NCHW on an AVX2 CPU, which makes
NHWC a loss for training VoVNet (all dense 3x3) on CPUs. The ``'auto'``
setting therefore computes in NHWC except for a CPU training step.
"""
from typing import Sequence, Tuple, Union

CHANNELS_LAST_CHOICES = (True, False, 'auto')

import torch
import torch.nn as nn


def weights_to_channels_last(module: nn.Module) -> None:
    """Store 4-D parameters/buffers as NHWC (kept by later ``.to(device)``,
    ``load_state_dict`` and in-place init)."""
    module.to(memory_format=torch.channels_last)


def computes_in_channels_last(setting: Union[bool, str], module: nn.Module,
                              x: torch.Tensor) -> bool:
    """Whether a backbone with ``channels_last=setting`` runs this forward in
    NHWC: always (True), never (False), or ('auto') unless it is a training
    step (module training, grad enabled) on a CPU."""
    if setting == 'auto':
        return not (x.device.type == 'cpu' and module.training and torch.is_grad_enabled())
    return bool(setting)


def input_to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def outputs_to_nchw(outputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
    return tuple(o.contiguous() for o in outputs)
