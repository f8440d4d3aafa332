"""What train and test share: config loading, distributed set-up on machines
with or without CUDA, and dataset path checks with clear errors."""
import argparse
import json
import os
import os.path as osp
from typing import Iterator, List, Optional

import torch
from mmengine.config import Config, DictAction


class UsageError(Exception):
    """A problem with the user's command or files; printed without traceback."""


def check_checkpoint(path: str, what: str) -> None:
    """A clear error unless ``path`` is a complete checkpoint file."""
    from mmattn.engine import is_complete_checkpoint
    if not osp.isfile(path):
        raise UsageError(f'{what} {path!r} does not exist')
    if not is_complete_checkpoint(path):
        raise UsageError(f'{what} {path!r} is incomplete or corrupt (cut off while being written?)')


def add_hook(cfg: Config, hook: dict) -> None:
    """Append ``hook`` to ``custom_hooks`` unless one of its type is there."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == hook['type'] for h in hooks):
        hooks.append(hook)
    cfg.custom_hooks = hooks


def build_runner(cfg: Config):
    """``RUNNERS.build`` when the config names a ``runner_type``, else
    mmattn's ``SafeCheckpointRunner`` (atomic, weights_only-safe checkpoints)."""
    if 'runner_type' in cfg:
        from mmdet.registry import RUNNERS
        return RUNNERS.build(cfg)
    from mmattn.engine import SafeCheckpointRunner
    return SafeCheckpointRunner.from_cfg(cfg)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.backbone.depth=101')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(path: str, cfg_options: Optional[dict], work_dir: Optional[str]) -> Config:
    if not osp.isfile(path):
        raise UsageError(f'config file {path!r} does not exist (expected a .py config, '
                         f'e.g. configs/epsanet/mask_rcnn_epsa50_coco.py)')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Use NCCL on GPUs; on a machine without CUDA, start the gloo process group
    ourselves (mmengine's init calls ``torch.cuda.set_device`` unconditionally)
    and wrap the model in DDP without ``device_ids``."""
    os.environ.setdefault('LOCAL_RANK', '0')
    if launcher == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if launcher != 'pytorch':
        raise UsageError(f'--launcher {launcher} needs CUDA; on a CPU-only machine use '
                         'tools/dist_train.sh (torchrun, --launcher pytorch)')
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                 broadcast_buffers=False)
    # SyncBN needs a GPU; the CPU fallback is plain BN.
    cfg.model = _replace_syncbn(cfg.model)


def _replace_syncbn(node):
    if isinstance(node, dict):
        out = type(node)({k: _replace_syncbn(v) for k, v in node.items()})
        if out.get('type') == 'SyncBN':
            out['type'] = 'BN'
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_syncbn(v) for v in node)
    return node


def _datasets(node) -> Iterator[dict]:
    """Leaf dataset configs, through wrappers (RepeatDataset, ConcatDataset...)."""
    if isinstance(node, dict):
        if 'ann_file' in node or 'data_prefix' in node:
            yield node
        for key in ('dataset', 'datasets'):
            if key in node:
                yield from _datasets(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _datasets(item)


def check_datasets(cfg: Config, loaders: List[str], max_json_mb: float = 64.0) -> None:
    """Fail early, naming the path, when a dataset's annotation file or image
    folder is missing, or (for annotation files up to ``max_json_mb``, so not
    for COCO train2017) a listed image is missing or not an image."""
    for loader in loaders:
        dataloader = cfg.get(loader)
        if not dataloader:
            continue
        for ds in _datasets(dataloader.get('dataset')):
            root = ds.get('data_root') or ''
            if root and '://' not in root and not osp.isdir(root):
                raise UsageError(f'{loader}: data_root {root!r} does not exist; expected '
                                 f'a folder holding the dataset (for the synthetic set run '
                                 f'python tools/misc/make_synthetic_coco.py {root})')
            ann = ds.get('ann_file')
            ann_path = osp.join(root, ann) if ann and not osp.isabs(ann) else ann
            if ann_path and '://' not in ann_path and not osp.isfile(ann_path):
                raise UsageError(f'{loader}: annotation file {ann_path!r} does not exist; '
                                 f'expected a COCO-format JSON (ann_file={ann!r} under '
                                 f'data_root={root!r})')
            prefix = (ds.get('data_prefix') or {}).get('img', '')
            img_dir = osp.join(root, prefix) if not osp.isabs(prefix) else prefix
            if '://' in img_dir:
                continue
            if not osp.isdir(img_dir):
                raise UsageError(f'{loader}: image folder {img_dir!r} does not exist '
                                 f"(data_prefix.img={prefix!r} under data_root={root!r})")
            if ann_path and osp.getsize(ann_path) <= max_json_mb * 2**20:
                _check_listed_images(loader, ann_path, img_dir)


def _check_listed_images(loader: str, ann_path: str, img_dir: str) -> None:
    """Every image the annotation file lists exists and has a readable image
    header (Pillow reads the header only, so this stays cheap)."""
    from PIL import Image, UnidentifiedImageError
    with open(ann_path, encoding='utf-8') as f:
        images = json.load(f).get('images', [])
    missing, unreadable = [], []
    for im in images:
        path = osp.join(img_dir, im['file_name'])
        if not osp.isfile(path):
            missing.append(path)
            continue
        try:
            with Image.open(path):
                pass
        except (UnidentifiedImageError, OSError):
            unreadable.append(path)
    for problem, paths in (('missing', missing), ('not readable as images', unreadable)):
        if paths:
            shown = ', '.join(repr(p) for p in paths[:3])
            raise UsageError(f'{loader}: {len(paths)} image(s) listed in {ann_path!r} are '
                             f'{problem}, e.g. {shown}')
