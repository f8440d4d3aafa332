"""``init_cfg=dict(type='Pretrained', ...)`` for mmattn's backbones.

Same config as mmengine's ``PretrainedInit`` (``checkpoint``, ``prefix``,
``map_location``), with three differences:

* a missing local file is a ``FileNotFoundError`` that says what to do, raised
  before anything tries to load (or, for a bare name, download) it;
* local files load through ``load_checkpoint_file``: tensors and plain data
  only, so mmpretrain/mmengine checkpoints (numpy values, ``HistoryBuffer``)
  load under torch >= 2.6 with no allowlist and nothing from the file run;
* ``prefix`` is taken when the checkpoint has keys under it (a classifier or
  detector checkpoint: ``backbone.``) and the backbone's own names are used
  otherwise (an official ``main.py`` checkpoint, a backbone-only file), so one
  config accepts all three. mmengine would refuse the latter two.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

from mmattn.engine.safe_load import load_checkpoint_file

InitCfg = Optional[Union[dict, List[dict]]]


def split_pretrained(init_cfg: InitCfg) -> Tuple[InitCfg, Optional[dict]]:
    """(the other init configs or None, the ``Pretrained`` one or None)."""
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg] if init_cfg else []
    pretrained = [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']
    others = [c for c in cfgs if c not in pretrained]
    others_cfg: InitCfg = (others if isinstance(init_cfg, list) else others[0]) if others else None
    return others_cfg, (pretrained[-1] if pretrained else None)


def check_pretrained_file(init_cfg: InitCfg, backbone: str, hint: str) -> None:
    """Raise FileNotFoundError naming the path and what to do, before mmengine
    tries to load (or, for a bare name, to download) it."""
    _, cfg = split_pretrained(init_cfg)
    if cfg is None:
        return
    path = cfg.get('checkpoint')
    if path is None:
        raise ValueError(f"{backbone}: init_cfg=dict(type='Pretrained') needs "
                         "checkpoint=PATH; use init_cfg=None to train from scratch")
    path = str(path)
    if '://' in path:  # an explicit URL or mmengine scheme: user's choice
        return
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{backbone}: pretrained checkpoint {path!r} does not exist '
            f'(init_cfg.checkpoint). {hint} Set its path with --cfg-options '
            f'model.backbone.init_cfg.checkpoint=PATH, or train from scratch '
            f'with --cfg-options model.backbone.init_cfg=None.')


def state_dict_of(checkpoint: dict, strip_module: bool = True) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint in any of the usual wrappings (mmengine's and
    the official ``main.py``'s ``state_dict``, detectron2's ``model``, or a bare
    state dict) as tensors (detectron2's ``.pkl`` holds numpy arrays), with
    DataParallel/DDP's ``module.`` prefixes removed unless ``strip_module`` is
    False. Raises ValueError for anything that is not a dict of weights."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict):
        raise ValueError(f'expected a dict of weights (optionally under "model" or '
                         f'"state_dict"), got {type(checkpoint).__name__}')
    weights = {}
    for key, value in checkpoint.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, torch.Tensor):
            if strip_module and key.startswith('module.'):
                key = key[len('module.'):]
            weights[key] = value
    return weights


def select_prefix(state_dict: Dict[str, torch.Tensor], prefix: Optional[str],
                  own_keys) -> Tuple[Dict[str, torch.Tensor], str]:
    """The entries under ``prefix`` with it removed, or, when there are none but
    the keys already name the backbone's own tensors, the state dict as it is.
    Returns (weights, a phrase saying which was used)."""
    if not prefix:
        return state_dict, 'all keys'
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    selected = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if selected:
        return selected, f'keys under {prefix!r}'
    if set(state_dict) & set(own_keys):
        return state_dict, f'no keys under {prefix!r}: a backbone-only checkpoint'
    shown = ', '.join(sorted(state_dict)[:5])
    raise KeyError(f'init_cfg.prefix={prefix!r}: the checkpoint has no keys under that prefix '
                   f'and none of the backbone\'s own names either (it has e.g. {shown})')


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """A checkpoint's content: a URL through mmengine (which downloads it),
    a local file through the data-only ``load_checkpoint_file``."""
    if '://' in path:
        return _load_checkpoint(path, map_location=map_location, logger='current')
    return load_checkpoint_file(path, map_location=map_location)


def load_pretrained(module: nn.Module, cfg: dict) -> None:
    """Load ``cfg['checkpoint']`` into ``module`` as described above."""
    path = str(cfg['checkpoint'])
    checkpoint = read_checkpoint(path, cfg.get('map_location', 'cpu'))
    weights, used = select_prefix(state_dict_of(checkpoint), cfg.get('prefix'),
                                  module.state_dict().keys())
    print_log(f'{type(module).__name__}: loading {path} ({used})', logger='current')
    load_state_dict(module, weights, strict=False, logger='current')


def init_weights_with_pretrained(module: nn.Module, parent_init_weights, hint: str) -> None:
    """``module.init_weights()`` for a backbone: its other init configs and its
    children's own initialisation through ``parent_init_weights`` (the
    superclass's ``init_weights``), then the ``Pretrained`` checkpoint, if
    any, through ``load_pretrained``: the order mmengine uses."""
    others, pretrained = split_pretrained(module.init_cfg)
    if pretrained is None:
        parent_init_weights()
        return
    check_pretrained_file(pretrained, type(module).__name__, hint)
    init_cfg = module.init_cfg
    module.init_cfg = others
    try:
        parent_init_weights()
    finally:
        module.init_cfg = init_cfg
    load_pretrained(module, pretrained)
