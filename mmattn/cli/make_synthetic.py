"""Make the synthetic datasets (``tools/misc/make_synthetic_{coco,imagenet,ade20k}.py``):

    make_synthetic_coco OUT [--num-train N] [--num-val N] [--image-size PX]
        [--max-objects N] [--seed S] [--layout synthetic|coco] [--overwrite]
    make_synthetic_imagenet OUT [--num-classes 2..6] [--train-per-class N]
        [--val-per-class N] [--image-size PX] [--seed S] [--overwrite]
    make_synthetic_ade20k OUT [--num-train N] [--num-val N] [--image-size PX]
        [--seed S] [--overwrite]

OUT must be new or empty; ``--overwrite`` replaces only a set an mmattn maker
wrote there before, holding nothing else. A run that is interrupted (Ctrl-C,
SIGTERM) leaves nothing behind; a staging folder left by a killed run is
removed by the next run.
"""
import argparse
import signal
from typing import Dict, List, Optional

from .command import CommandParser, non_negative_int, positive_int, run_command

COCO_MIN_IMAGE_SIZE = 32
IMAGENET_MIN_IMAGE_SIZE = 16


def _terminate_as_interrupt() -> None:
    """SIGTERM (a scheduler, ``kill``) unwinds like Ctrl-C, so that the staging
    folder is removed."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')
    signal.signal(signal.SIGTERM, handler)


def _add_common(parser: argparse.ArgumentParser, size: int, minimum: int) -> None:
    parser.add_argument('out_dir', help='a new or empty folder')
    parser.add_argument('--image-size', type=positive_int, default=size, metavar='PX',
                        help=f'square image side, >= {minimum} (default {size})')
    parser.add_argument('--seed', type=non_negative_int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a set this tool wrote in OUT before')


def _make(args: argparse.Namespace, maker_name: str, minimum: int, **options) -> int:
    """Refuse a too small --image-size, make SIGTERM unwind like Ctrl-C, then run
    ``mmattn.datasets.synthetic.<maker_name>`` with the common and the given options."""
    from mmattn.datasets import synthetic
    from mmattn.utils.errors import UsageError
    if args.image_size < minimum:
        raise UsageError(f'--image-size {args.image_size} is too small; expected >= {minimum}')
    _terminate_as_interrupt()
    paths = getattr(synthetic, maker_name)(args.out_dir, image_size=args.image_size,
                                           seed=args.seed, overwrite=args.overwrite, **options)
    for split, path in paths.items():
        print(f'{split}: {path}')
    return 0


def _add_shapes_sets(parser: argparse.ArgumentParser) -> None:
    """The arguments of the two shapes sets (COCO and ADE20K layouts)."""
    _add_common(parser, 128, COCO_MIN_IMAGE_SIZE)
    parser.add_argument('--num-train', type=positive_int, default=400, metavar='N')
    parser.add_argument('--num-val', type=positive_int, default=100, metavar='N')


def _shape_sides(image_size: int) -> Dict[str, int]:
    """Shapes span 16 px to half the image side, at most 64."""
    max_side = min(64, image_size // 2)
    return dict(min_side=min(16, max_side), max_side=max_side)


def _coco_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='make_synthetic_coco',
                           description='Make the synthetic COCO-format shapes set '
                                       '(shapes span 16 px to half the image side, at most 64)')
    _add_shapes_sets(parser)
    parser.add_argument('--max-objects', type=positive_int, default=4, metavar='N')
    parser.add_argument('--layout', choices=('synthetic', 'coco'), default='synthetic',
                        help="'coco': COCO 2017's file names and 80 categories (the shapes "
                             'are labelled book, kite, sports ball, frisbee)')
    return parser


def _run_coco(args: argparse.Namespace) -> int:
    return _make(args, 'make_synthetic_coco', COCO_MIN_IMAGE_SIZE, num_train=args.num_train,
                 num_val=args.num_val, max_objects=args.max_objects, layout=args.layout,
                 **_shape_sides(args.image_size))


def _imagenet_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='make_synthetic_imagenet',
                           description='Make a synthetic texture set in ImageNet\'s layout')
    _add_common(parser, 64, IMAGENET_MIN_IMAGE_SIZE)
    parser.add_argument('--num-classes', type=int, default=6, choices=range(2, 7),
                        metavar='2..6', help='one texture per class (default 6)')
    parser.add_argument('--train-per-class', type=positive_int, default=100, metavar='N')
    parser.add_argument('--val-per-class', type=positive_int, default=25, metavar='N')
    return parser


def _run_imagenet(args: argparse.Namespace) -> int:
    return _make(args, 'make_synthetic_imagenet', IMAGENET_MIN_IMAGE_SIZE,
                 num_classes=args.num_classes, train_per_class=args.train_per_class,
                 val_per_class=args.val_per_class)


def _ade20k_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='make_synthetic_ade20k',
                           description='Make the synthetic shapes set in ADE20K\'s layout '
                                       '(semantic segmentation)')
    _add_shapes_sets(parser)
    return parser


def _run_ade20k(args: argparse.Namespace) -> int:
    return _make(args, 'make_synthetic_ade20k', COCO_MIN_IMAGE_SIZE, num_train=args.num_train,
                 num_val=args.num_val, **_shape_sides(args.image_size))


def coco_main(argv: Optional[List[str]] = None) -> int:
    """The ``make_synthetic_coco`` command."""
    return run_command('make_synthetic_coco', _run_coco, _coco_parser().parse_args(argv))


def ade20k_main(argv: Optional[List[str]] = None) -> int:
    """The ``make_synthetic_ade20k`` command."""
    return run_command('make_synthetic_ade20k', _run_ade20k, _ade20k_parser().parse_args(argv))


def imagenet_main(argv: Optional[List[str]] = None) -> int:
    """The ``make_synthetic_imagenet`` command."""
    return run_command('make_synthetic_imagenet', _run_imagenet,
                       _imagenet_parser().parse_args(argv))
