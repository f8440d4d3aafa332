"""Parameters and FLOPs (multiply-accumulates, mmengine/fvcore counting) of a
detector or backbone from a config, or of one attention block.

    python tools/analysis_tools/get_flops.py configs/epsanet/mask_rcnn_epsa50_coco.py --shape 800 1216
    python tools/analysis_tools/get_flops.py configs/epsanet/mask_rcnn_epsa50_coco.py --backbone-only --shape 224 224
    # an installed package's own config, named as in _base_
    python tools/analysis_tools/get_flops.py mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py --backbone-only --shape 224 224
    python tools/analysis_tools/get_flops.py --block cbam --channels 256 --shape 56 56
    python tools/analysis_tools/get_flops.py --block all --channels 256 --shape 56 56   # markdown table
"""
import argparse
import sys

from mmengine.config import DictAction

import mmattn  # noqa: F401
from mmattn.analysis.complexity import complexity
from mmattn.utils.config import load_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', help='a detector config')
    parser.add_argument('--backbone-only', action='store_true', help="only the config's backbone")
    parser.add_argument('--block', help='an attention block name (see mmattn.models.ATTENTION_BLOCKS)')
    parser.add_argument('--channels', type=int, default=256, help='block input channels')
    parser.add_argument('--shape', type=int, nargs=2, default=[800, 1216], metavar=('H', 'W'))
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if (args.config is None) == (args.block is None):
        parser.error('give either a config or --block')
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    h, w = args.shape
    if args.block:
        from mmattn.models import ATTENTION_BLOCKS, build_attention
        names = sorted(ATTENTION_BLOCKS) if args.block == 'all' else [args.block]
        print(f'| block | class | params (C={args.channels}) | MFLOPs ({args.channels}x{h}x{w}) |')
        print('| --- | --- | ---: | ---: |')
        for name in names:
            block = build_attention(name, args.channels)
            result = complexity(block, (args.channels, h, w))
            print(f'| `{name}` | `{type(block).__name__}` | {int(result["params"]):,} | '
                  f'{result["flops"] / 1e6:.3f} |')
        return 0
    else:
        cfg = load_config(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        cfg.model.backbone.init_cfg = None
        if args.backbone_only:
            model, what = MODELS.build(cfg.model.backbone), f'backbone of {args.config}'
        else:
            model, what = MODELS.build(cfg.model), args.config
        result = complexity(model, (3, *args.shape), detector=not args.backbone_only)
    print(f'{what}, input {h}x{w}: params {result["params"] / 1e6:.2f} M, '
          f'FLOPs {result["flops"] / 1e9:.2f} G')
    return 0


if __name__ == '__main__':
    sys.exit(main())
