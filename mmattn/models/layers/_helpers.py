"""Small helpers shared by the attention blocks: argument checks and
precision-safe primitives. Kept free of any block-specific logic."""
import math
from typing import Any, Iterable, Sequence

import torch
import torch.nn.functional as F


def check_int(block: str, arg: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'{block}: {arg}={value!r} is invalid; expected an '
                         f'integer >= {minimum}')
    return value


def check_choice(block: str, arg: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f'{block}: {arg}={value!r} is invalid; expected one '
                         f'of {choices}')
    return value


def reduced_channels(block: str, in_channels: int, reduction: int) -> int:
    """``in_channels // reduction``, refusing a result of 0 (the silent
    zero-width bottleneck that plain ``C // r`` gives for small ``C``)."""
    check_int(block, 'in_channels', in_channels)
    check_int(block, 'reduction', reduction)
    mid = in_channels // reduction
    if mid < 1:
        raise ValueError(
            f'{block}: in_channels={in_channels} with reduction={reduction} '
            f'leaves {in_channels}//{reduction}=0 hidden channels; valid '
            f'reductions for in_channels={in_channels} are 1..{in_channels}')
    return mid


def check_divisible(block: str, arg: str, value: int, divisor: int,
                    divisor_name: str) -> None:
    if value % divisor != 0:
        raise ValueError(f'{block}: {arg}={value} must be divisible by '
                         f'{divisor_name}={divisor}')


def check_same_length(block: str, **sequences: Sequence) -> None:
    lengths = {name: len(seq) for name, seq in sequences.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f'{block}: {", ".join(lengths)} must have the same '
                         f'length, got lengths {lengths}')


def global_avg(x: torch.Tensor) -> torch.Tensor:
    """Mean over H and W, kept as (N, C, 1, 1). Plain ``mean`` rather than
    adaptive pooling: exportable, deterministic on CUDA, any H x W."""
    return x.mean(dim=(2, 3), keepdim=True)


def global_max(x: torch.Tensor) -> torch.Tensor:
    return x.amax(dim=(2, 3), keepdim=True)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """relu6(x + 3) / 6, the hard sigmoid of MobileNetV3 and CenterMask's eSE."""
    return F.relu6(x + 3.0) / 6.0


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    return x * hard_sigmoid(x)


def fp32_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched matmul in float32 whatever the autocast state.

    Attention energies (HW x HW, C x C) overflow float16 easily; this keeps
    them, and the softmax that follows, in float32.
    """
    with torch.autocast(device_type=a.device.type, enabled=False):
        return torch.bmm(a.float(), b.float())


def flatten_spatial(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H*W); works for channels_last inputs too."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def eca_kernel_size(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """ECA-Net's adaptive kernel size: nearest odd of |log2(C)/gamma + b/gamma|."""
    t = int(abs((math.log2(channels) + beta) / gamma))
    return t if t % 2 else t + 1
