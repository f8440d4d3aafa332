"""Train a detector: ``mmattn-train CONFIG [--work-dir DIR] [--resume [CKPT]]
[--amp] [--auto-scale-lr] [--allow-partial] [--cfg-options K=V ...]
[--launcher pytorch]``.

MMDetection's ``tools/train.py`` interface, plus: CPU distributed training on
gloo, atomic checkpoints, resume that skips half-written files and works with
torch >= 2.6, checkpoints that must fit the model, per-epoch reseeding when a
seed is set (an interrupted run resumes to identical weights), and metrics
written as JSON. Mistakes in the command, config, data or weights are one
message before anything is built (``mmattn.preflight``).
"""
import argparse
import contextlib
from typing import List, Optional

from .command import CommandParser, add_common_args, is_first_process, run_command
from .distributed import setup_distributed


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='mmattn-train', description='Train a detector with mmattn')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or (bare) from the latest complete '
                             'checkpoint in the work dir')
    parser.add_argument('--allow-partial', action='store_true',
                        help='let load_from fill only part of the model (fine-tuning from '
                             'another model); without it such a checkpoint is refused')
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    import torch

    # mmattn's modules are imported here, not at the top: `--help` answers without
    # loading torch, mmdet and every registered model (see mmattn/cli/__init__.py)
    import mmattn  # noqa: F401  (registers mmattn and the `mmattn::` config scope)
    from mmattn.engine import add_hook, build_runner
    from mmattn.engine.latest_checkpoint import resume_from
    from mmattn.engine.work_dir_lock import hold_work_dir, work_dir_problem
    from mmattn.preflight import preflight
    from mmattn.utils.config import default_work_dir, load_config
    from mmattn.utils.errors import UsageError
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    default_work_dir(cfg, args.config)
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
    if args.allow_partial:
        cfg.allow_partial_checkpoint = True
    busy = work_dir_problem(cfg.work_dir) if is_first_process() else None
    if busy:
        raise UsageError(busy)
    resumed = resume_from(cfg, args.resume)
    if resumed is not None:
        preflight(cfg, ['train_dataloader', 'val_dataloader'], resumed, 'resume')
    else:
        preflight(cfg, ['train_dataloader', 'val_dataloader'], cfg.get('load_from'), 'fine-tune')
    if args.preflight:
        return 0
    setup_distributed(cfg, args.launcher, args.local_rank)
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
    if args.launcher != 'none':
        # each process keeps its own BN statistics (broadcast_buffers=False): averaged at
        # every epoch's end, before the checkpoint is written, so that what is saved is what
        # every rank validates (else the AP printed after training is not the checkpoint's)
        add_hook(cfg, dict(type='SyncBuffersHook'))
    # the first process holds the work dir while it trains (work_dir_lock.py)
    with hold_work_dir(cfg.work_dir) if is_first_process() else contextlib.nullcontext():
        build_runner(cfg).train()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``mmattn-train`` command."""
    return run_command('mmattn-train', run, build_parser().parse_args(argv))
