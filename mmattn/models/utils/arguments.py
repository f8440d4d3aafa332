"""Argument checks shared by mmattn's blocks and backbones: each raises a
ValueError that names the module, the argument, its value and what is valid."""
import math
from fractions import Fraction
from typing import Any, Iterable, Optional, Sequence, Union

Ratio = Union[float, Fraction]


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


def reduced_channels(block: str, in_channels: int, rd_ratio: Ratio,
                     rd_channels: Optional[int] = None, rd_divisor: int = 1,
                     min_channels: int = 0) -> int:
    """The width of a block's bottleneck, timm's convention:

    * ``rd_channels`` when given;
    * else ``floor(in_channels * rd_ratio)`` with ``rd_divisor=1`` (the
      official ``C // r`` of every block here: ``rd_ratio`` is read as the
      nearest fraction with a denominator <= 10**6, so ``1/3`` means exactly a
      third), or, with ``rd_divisor=d > 1``, rounded to the nearest multiple
      of ``d`` (at least ``d``), as timm's ``make_divisible``;
    * then at least ``min_channels``.

    A result of 0 (``C // r`` for small ``C``) raises ValueError.
    """
    check_int(block, 'in_channels', in_channels)
    check_int(block, 'min_channels', min_channels, minimum=0)
    if rd_channels is not None:
        return max(check_int(block, 'rd_channels', rd_channels), min_channels)
    shown = str(rd_ratio) if isinstance(rd_ratio, Fraction) else repr(rd_ratio)
    if isinstance(rd_ratio, bool) or not isinstance(rd_ratio, (int, float, Fraction)) \
            or not 0 < rd_ratio <= 1:
        hint = (f' (the old reduction={rd_ratio} is rd_ratio=1/{rd_ratio})'
                if isinstance(rd_ratio, int) and rd_ratio > 1 else '')
        raise ValueError(f'{block}: rd_ratio={shown} is invalid; expected a number '
                         f'in (0, 1], e.g. 1/16{hint}')
    check_int(block, 'rd_divisor', rd_divisor)
    width = in_channels * Fraction(rd_ratio).limit_denominator(10**6)
    if rd_divisor == 1:
        mid = math.floor(width)
    else:
        nearest = math.floor(width + Fraction(rd_divisor, 2)) // rd_divisor * rd_divisor
        mid = max(rd_divisor, nearest)
    mid = max(mid, min_channels)
    if mid < 1:
        raise ValueError(
            f'{block}: in_channels={in_channels} with rd_ratio={shown} leaves '
            f'0 hidden channels; use rd_ratio >= 1/{in_channels} or set rd_channels')
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


def check_stage_arguments(backbone: str, num_stages: int, out_indices: Sequence[int],
                          frozen_stages: int) -> None:
    if not out_indices or any(not 0 <= i < num_stages for i in out_indices):
        raise ValueError(f'{backbone}: out_indices={tuple(out_indices)} is invalid; '
                         f'expected indices in 0..{num_stages - 1}')
    if not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'{backbone}: frozen_stages={frozen_stages} is invalid; '
                         f'expected -1..{num_stages}')
