"""Channels-last computation inside a backbone, NCHW at its boundary.

Grouped and depthwise convolutions (PSA's 7x7/g8 and 9x9/g16 branches,
VoVNet's 3x3 chains) are several times faster in NHWC on CPUs (oneDNN), and
NHWC is what GPU tensor cores want. Outputs are returned contiguous (NCHW)
because mmcv's CPU RoIAlign indexes its input as NCHW.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn


def weights_to_channels_last(module: nn.Module) -> None:
    """Store 4-D parameters/buffers as NHWC (kept by later ``.to(device)``,
    ``load_state_dict`` and in-place init)."""
    module.to(memory_format=torch.channels_last)


def input_to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def outputs_to_nchw(outputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
    return tuple(o.contiguous() for o in outputs)
