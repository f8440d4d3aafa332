"""Loading a config as the commands do: the file, ``--cfg-options``, the work dir."""
import argparse
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

from .preflight import UsageError


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.backbone.depth=101')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    # dist_*.sh run the command once with this before torchrun starts N copies
    parser.add_argument('--preflight', action='store_true', help=argparse.SUPPRESS)


def _needs_mmpretrain(path: str) -> bool:
    with open(path, encoding='utf-8') as f:
        return 'mmpretrain' in f.read()


def load_config(path: str, cfg_options: Optional[dict], work_dir: Optional[str]) -> Config:
    if not osp.isfile(path):
        raise UsageError(f'config file {path!r} does not exist (expected a .py config, '
                         f'e.g. configs/epsanet/mask_rcnn_epsa50_coco.py)')
    try:
        cfg = Config.fromfile(path)
    except Exception as error:  # noqa: BLE001
        if 'mmpretrain' in str(error) or 'mmattn.pretrain' in str(error) \
                or _needs_mmpretrain(path):
            reason = _import_error('mmattn.pretrain')
            if reason is not None:
                raise UsageError(f'config {path!r} is an mmpretrain (ImageNet pre-training) '
                                 f'config, and mmpretrain cannot be used here: {reason}'
                                 ) from error
        raise
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def _import_error(module: str) -> Optional[str]:
    try:
        __import__(module)
    except Exception as error:  # noqa: BLE001
        return str(error)
    return None
