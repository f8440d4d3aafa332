"""Argument checks shared by mmattn's blocks and backbones: each raises a
ValueError that names the module, the argument, its value and what is valid."""
from typing import Any, Iterable, Sequence


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


def check_stage_arguments(backbone: str, num_stages: int, out_indices: Sequence[int],
                          frozen_stages: int) -> None:
    if not out_indices or any(not 0 <= i < num_stages for i in out_indices):
        raise ValueError(f'{backbone}: out_indices={tuple(out_indices)} is invalid; '
                         f'expected indices in 0..{num_stages - 1}')
    if not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'{backbone}: frozen_stages={frozen_stages} is invalid; '
                         f'expected -1..{num_stages}')
