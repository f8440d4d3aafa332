"""Evaluate a checkpoint: ``mmattn-test CONFIG CHECKPOINT [--work-dir DIR]
[--out results.pkl [--overwrite]] [--show-dir DIR] [--fuse-conv-bn] [--allow-partial]
[--cfg-options K=V ...] [--launcher pytorch]``.

MMDetection's ``tools/test.py`` interface; metrics (bbox and segm AP through
``CocoMetric``) are also written to ``WORK_DIR/test_metrics.json``. A
checkpoint that leaves weights of the model unfilled or mis-shaped is refused
(``--allow-partial`` to test it anyway). An existing ``--out`` file is
replaced only with ``--overwrite`` (checked before anything runs).
"""
import argparse
from typing import List, Optional

from .command import CommandParser, add_common_args, add_config_and_checkpoint, run_command
from .distributed import setup_distributed


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='mmattn-test',
                           description='Test (and evaluate) a detector with mmattn')
    add_config_and_checkpoint(parser)
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out file')
    parser.add_argument(
        '--show-dir', help='save drawn predictions under WORK_DIR/TIMESTAMP/SHOW_DIR')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold batch norms into the preceding convolutions (faster inference)')
    parser.add_argument('--allow-partial', action='store_true',
                        help='test a checkpoint that fills only part of the model')
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    import mmattn  # noqa: F401
    from mmattn.engine import add_hook, build_runner  # (here: see mmattn/cli/__init__.py)
    from mmattn.preflight import preflight
    from mmattn.utils.config import default_work_dir, load_config
    from mmattn.utils.errors import UsageError
    from mmattn.utils.staged_writes import check_output_file
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    default_work_dir(cfg, args.config)
    cfg.launcher = args.launcher
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UsageError(f'--out {args.out!r} must end with .pkl or .pickle')
        check_output_file(args.out, f'--out {args.out!r}', overwrite=args.overwrite,
                          inputs=[args.checkpoint])
    cfg.load_from = args.checkpoint
    if args.allow_partial:
        cfg.allow_partial_checkpoint = True
    preflight(cfg, ['test_dataloader'], args.checkpoint, 'evaluate')
    if args.preflight:
        return 0
    setup_distributed(cfg, args.launcher, args.local_rank)
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


def main(argv: Optional[List[str]] = None) -> int:
    """The ``mmattn-test`` command."""
    return run_command('mmattn-test', run, build_parser().parse_args(argv))
