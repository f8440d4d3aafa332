"""Train a detector: ``mmattn-train CONFIG [--work-dir DIR] [--resume [CKPT]]
[--amp] [--auto-scale-lr] [--cfg-options K=V ...] [--launcher pytorch]``.

MMDetection's ``tools/train.py`` interface, plus: CPU distributed training on
gloo, atomic checkpoints, resume that skips half-written files and works with
torch >= 2.6, per-epoch reseeding when a seed is set (an interrupted run
resumes to identical weights), and metrics written as JSON.
"""
import argparse
import sys
from typing import List, Optional

import torch
from mmengine.logging import print_log

import mmattn  # noqa: F401  (registers mmattn and the `mmattn::` config scope)
from mmattn.engine import find_latest_valid_checkpoint
from .config import add_common_args, load_config
from .distributed import setup_distributed
from .preflight import UsageError, check_checkpoint, preflight
from .runner import add_hook, build_runner


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector with mmattn')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or (bare) from the latest complete '
                             'checkpoint in the work dir')
    add_common_args(parser)
    return parser.parse_args(argv)


def _resolve_resume(cfg, resume: Optional[str]) -> None:
    if resume is None:
        return
    if resume == 'auto':
        path = find_latest_valid_checkpoint(cfg.work_dir)
        if path is None:
            print_log(f'--resume: no complete checkpoint in {cfg.work_dir}; starting from scratch',
                      logger='current')
            return
    else:
        path = resume
        check_checkpoint(path, '--resume checkpoint')
    cfg.resume = True
    cfg.load_from = path


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options, args.work_dir)
        cfg.launcher = args.launcher
        if args.amp:
            if not torch.cuda.is_available():
                raise UsageError('--amp needs a CUDA device (mmengine AMP does not run on CPU)')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        if args.auto_scale_lr:
            if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
                raise UsageError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) '
                                 'in the config')
            cfg.auto_scale_lr.enable = True
        _resolve_resume(cfg, args.resume)
        preflight(cfg, ['train_dataloader', 'val_dataloader'])
        if args.preflight:
            return 0
        setup_distributed(cfg, args.launcher, args.local_rank)
    except UsageError as e:
        print(f'mmattn-train: error: {e}', file=sys.stderr)
        return 2
    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is not None:
        add_hook(cfg, dict(type='EpochReseedHook', seed=randomness['seed'],
                            diff_rank_seed=randomness.get('diff_rank_seed', False)))
        loader = cfg.get('train_dataloader') or {}
        if loader.get('num_workers', 0) > 0 and \
                loader['dataset'].get('type') != 'EpochSeededDataset':
            # worker processes reseeded per epoch: a resumed run replays augmentation
            loader['dataset'] = dict(type='EpochSeededDataset', dataset=loader['dataset'],
                                     seed=randomness['seed'])
    add_hook(cfg, dict(type='MetricsJSONHook'))
    runner = build_runner(cfg)
    runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
