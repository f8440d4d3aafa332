"""Evaluate a checkpoint: ``mmattn-test CONFIG CHECKPOINT [--work-dir DIR]
[--out results.pkl] [--show-dir DIR] [--fuse-conv-bn] [--cfg-options K=V ...]
[--launcher pytorch]``.

MMDetection's ``tools/test.py`` interface; metrics (bbox and segm AP through
``CocoMetric``) are also written to ``WORK_DIR/test_metrics.json``.
"""
import argparse
import sys
from typing import List, Optional

import mmattn  # noqa: F401
from .config import add_common_args, load_config
from .distributed import setup_distributed
from .preflight import UsageError, check_checkpoint, preflight
from .runner import add_hook, build_runner


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector with mmattn')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--show-dir', help='save drawn predictions under WORK_DIR/TIMESTAMP/SHOW_DIR')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold batch norms into the preceding convolutions (faster inference)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options, args.work_dir)
        cfg.launcher = args.launcher
        check_checkpoint(args.checkpoint, 'checkpoint')
        if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
            raise UsageError(f'--out {args.out!r} must end with .pkl or .pickle')
        cfg.load_from = args.checkpoint
        preflight(cfg, ['test_dataloader'])
        if args.preflight:
            return 0
        setup_distributed(cfg, args.launcher, args.local_rank)
    except UsageError as e:
        print(f'mmattn-test: error: {e}', file=sys.stderr)
        return 2
    if args.show_dir:
        vis = cfg.default_hooks.setdefault('visualization', dict(type='DetVisualizationHook'))
        vis.update(draw=True, test_out_dir=args.show_dir)
    add_hook(cfg, dict(type='MetricsJSONHook'))
    if args.fuse_conv_bn:
        add_hook(cfg, dict(type='FuseConvBNHook'))
    runner = build_runner(cfg)
    if args.out:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    runner.test()
    return 0


if __name__ == '__main__':
    sys.exit(main())
