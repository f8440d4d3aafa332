"""Parameters and FLOPs (multiply-accumulates, mmengine/fvcore counting) of a
detector or backbone from a config, or of one attention block
(``tools/analysis_tools/get_flops.py``):

    python tools/analysis_tools/get_flops.py configs/epsanet/mask_rcnn_epsa50_coco.py \
        --shape 800 1216
    python tools/analysis_tools/get_flops.py configs/epsanet/mask_rcnn_epsa50_coco.py \
        --backbone-only --shape 224 224
    # an installed package's own config, named as in _base_
    python tools/analysis_tools/get_flops.py mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py \
        --backbone-only --shape 224 224
    python tools/analysis_tools/get_flops.py --block cbam --channels 256 --shape 56 56
    python tools/analysis_tools/get_flops.py --block all --channels 256 --shape 56 56  # a table
"""
import argparse
from typing import List, Optional

from .command import CommandParser, add_cfg_options, positive_int, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='get_flops', description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', help='a detector config')
    parser.add_argument('--backbone-only', action='store_true', help="only the config's backbone")
    parser.add_argument('--block', help="an attention block's factory key, or 'all'")
    parser.add_argument('--channels', type=positive_int, default=256, help='block input channels')
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[800, 1216],
                        metavar=('H', 'W'))
    add_cfg_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    import mmattn  # noqa: F401
    from mmattn.analysis.complexity import complexity
    from mmattn.utils.errors import UsageError
    if (args.config is None) == (args.block is None):
        raise UsageError('give either a config or --block')
    from mmdet.utils import register_all_modules
    register_all_modules()
    h, w = args.shape
    if args.block:
        from mmattn.models import ATTENTION_BLOCKS, build_attention
        names = sorted(ATTENTION_BLOCKS) if args.block == 'all' else [args.block]
        print(f'| block | class | params (C={args.channels}) | MFLOPs ({args.channels}x{h}x{w}) |')
        print('| --- | --- | ---: | ---: |')
        for name in names:
            try:
                block = build_attention(name, args.channels)
            except ValueError as error:
                raise UsageError(str(error)) from None
            result = complexity(block, (args.channels, h, w))
            print(f'| `{name}` | `{type(block).__name__}` | {int(result["params"]):,} | '
                  f'{result["flops"] / 1e6:.3f} |')
        return 0
    from mmattn.models.builder import build_model_from_config
    from mmattn.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options)
    part = 'model.backbone' if args.backbone_only else 'model'
    model = build_model_from_config(cfg, part, pretrained=False)
    what = f'backbone of {args.config}' if args.backbone_only else args.config
    result = complexity(model, (3, h, w), detector=not args.backbone_only)
    print(f'{what}, input {h}x{w}: params {result["params"] / 1e6:.2f} M, '
          f'FLOPs {result["flops"] / 1e9:.2f} G')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``get_flops`` command."""
    return run_command('get_flops', run, build_parser().parse_args(argv))
