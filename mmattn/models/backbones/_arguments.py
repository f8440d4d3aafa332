"""Argument checks shared by the backbones."""
from typing import Sequence


def check_stage_arguments(backbone: str, num_stages: int, out_indices: Sequence[int],
                          frozen_stages: int) -> None:
    if not out_indices or any(not 0 <= i < num_stages for i in out_indices):
        raise ValueError(f'{backbone}: out_indices={tuple(out_indices)} is invalid; '
                         f'expected indices in 0..{num_stages - 1}')
    if not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'{backbone}: frozen_stages={frozen_stages} is invalid; '
                         f'expected -1..{num_stages}')
