"""Extract the backbone of an mmpretrain (or any mmengine) checkpoint into a
small backbone-only file, e.g. the EPSANet ImageNet run's:

    python tools/model_converters/mmpretrain_to_backbone.py \
        work_dirs/epsanet50_8xb32_in1k/epoch_120.pth checkpoints/epsanet50_imagenet.pth

The output holds ``{'state_dict': {name: tensor}}`` with the prefix removed
(optimizer, message hub and head dropped), loads with
``torch.load(weights_only=True)``, and is what the EPSANet detection configs
read by default. Nothing from the input file is executed.
"""
import argparse
import os.path as osp
import sys

import torch

from mmattn.engine import load_checkpoint_file
from mmattn.models.backbones.pretrained import state_dict_of
from mmattn.utils.staged_directory import staged_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint written by an mmpretrain/mmengine run')
    parser.add_argument('dst', help='backbone-only checkpoint to write')
    parser.add_argument('--prefix', default='backbone.', help='key prefix of the backbone')
    args = parser.parse_args()
    if not osp.isfile(args.src):
        print(f'error: {args.src!r} does not exist', file=sys.stderr)
        return 2
    prefix = args.prefix if args.prefix.endswith('.') else args.prefix + '.'
    weights = state_dict_of(load_checkpoint_file(args.src))
    backbone = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    if not backbone:
        shown = ', '.join(sorted(weights)[:5])
        print(f'error: {args.src}: no keys under --prefix {prefix!r} (it has e.g. {shown})',
              file=sys.stderr)
        return 2
    with staged_file(args.dst) as partial:
        torch.save({'state_dict': backbone,
                    'meta': dict(source=osp.basename(args.src), prefix=prefix)}, partial)
    left = sorted(k for k in weights if not k.startswith(prefix))
    print(f'wrote {args.dst}: {len(backbone)} tensors (keys under {prefix!r}, prefix removed)')
    if left:
        print(f'not written ({len(left)} keys outside the backbone): {", ".join(left[:8])}'
              + (' ...' if len(left) > 8 else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
