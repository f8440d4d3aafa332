"""Shared driver of the two VoVNet converters."""
import argparse
import sys

import torch

from mmattn.utils.staged_directory import staged_file
from mmattn.converters.vovnet_checkpoints import infer_spec, load_checkpoint_file


def run(description: str, convert, source: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='input checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='output checkpoint for init_cfg=dict(type="Pretrained")')
    args = parser.parse_args()
    state, leftovers = convert(load_checkpoint_file(args.src))
    try:
        arch, position = infer_spec(state)
    except ValueError as e:
        print(f'error: {args.src}: {e}', file=sys.stderr)
        return 2
    with staged_file(args.dst) as partial:
        torch.save({'state_dict': state,
                    'meta': dict(arch=arch, ese_position=position, source=source)}, partial)
    print(f'wrote {args.dst}: {len(state)} tensors for VoVNet(arch={arch!r}, '
          f'ese_position={position!r})')
    if position != 'every':
        print(f"note: build the backbone with ese_position='{position}' to load it")
    if leftovers:
        print(f'{len(leftovers)} keys are not part of the backbone and were not written:')
        for key in leftovers:
            print(f'  {key}')
    return 0
