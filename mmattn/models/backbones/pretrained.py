"""``init_cfg=dict(type='Pretrained', ...)`` for mmattn's backbones.

Same config as mmengine's ``PretrainedInit`` (``checkpoint``, ``prefix``,
``map_location``), with these differences:

* a missing local file is a ``CheckpointError`` that says what to do (the
  backbone's own ``missing_weights_advice``), raised before anything tries to
  load (or, for a bare name, download) it;
* local files load through ``mmattn.utils.checkpoint``: tensors and plain data
  only, so mmpretrain/mmengine checkpoints (numpy values, ``HistoryBuffer``)
  load under torch >= 2.6 with no allowlist and nothing from the file runs;
* ``prefix`` is taken when the checkpoint has keys under it (a classifier or
  detector checkpoint: ``backbone.``) and the backbone's own names are used
  otherwise (an official ``main.py`` checkpoint, a backbone-only file), so one
  config accepts all three. mmengine would refuse the latter two;
* a checkpoint none of whose tensors is the backbone's, or with a tensor of
  the wrong shape, is refused (mmengine logs a warning and trains on).
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmattn.utils.checkpoint import StateDictFit, check_fit, read_checkpoint, state_dict_of
from mmattn.utils.errors import CheckpointError

InitCfg = Optional[Union[dict, List[dict]]]


class PretrainedWeightsMixin:
    """What an mmattn backbone adds for ``init_cfg`` Pretrained: loading as
    described above, and its own advice for missing weights, which the
    commands' pre-flight prints (so a new backbone needs no CLI change)."""

    @classmethod
    def missing_weights_advice(cls, cfg_path: str, cfg: dict) -> List[str]:
        """Ways to get going when this backbone's ``init_cfg.checkpoint`` is
        missing, best first, for the module configured at ``cfg_path``
        (e.g. ``'model.backbone'``) as ``cfg``. Every backbone overrides it."""
        raise NotImplementedError(f'{cls.__name__} gives no advice for missing weights')

    def init_weights(self) -> None:
        """The other init configs and the children's own initialisation
        (through the next class's ``init_weights``), then the ``Pretrained``
        checkpoint, if any: the order mmengine uses."""
        others, pretrained = split_pretrained(self.init_cfg)
        if pretrained is None:
            super().init_weights()
            return
        check_pretrained_file(self, pretrained)
        init_cfg = self.init_cfg
        self.init_cfg = others
        try:
            super().init_weights()
        finally:
            self.init_cfg = init_cfg
        load_pretrained(self, pretrained)


def split_pretrained(init_cfg: InitCfg) -> Tuple[InitCfg, Optional[dict]]:
    """(the other init configs or None, the ``Pretrained`` one or None)."""
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg] if init_cfg else []
    pretrained = [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']
    others = [c for c in cfgs if c not in pretrained]
    others_cfg: InitCfg = (others if isinstance(init_cfg, list) else others[0]) if others else None
    return others_cfg, (pretrained[-1] if pretrained else None)


def check_pretrained_file(module: nn.Module, cfg: dict) -> None:
    """Raise CheckpointError naming the path and what to do, before mmengine
    tries to load (or, for a bare name, to download) it."""
    name = type(module).__name__
    path = cfg.get('checkpoint')
    if path is None:
        raise CheckpointError(f"{name}: init_cfg=dict(type='Pretrained') needs "
                              'checkpoint=PATH; use init_cfg=None to train from scratch')
    path = str(path)
    if '://' in path:  # an explicit URL or mmengine scheme: user's choice
        return
    if not osp.isfile(path):
        described = {'type': name, **{k: getattr(module, k) for k in ('depth', 'arch')
                                      if hasattr(module, k)}}
        advice = '; or '.join(type(module).missing_weights_advice('model.backbone', described))
        raise CheckpointError(f'{name}: pretrained checkpoint {path!r} (init_cfg.checkpoint) '
                              f'does not exist. To go on: {advice}')


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
    raise CheckpointError(f'init_cfg.prefix={prefix!r}: the checkpoint has no keys under that '
                          f"prefix and none of the backbone's own names either (it has e.g. "
                          f'{shown})')


def pretrained_fit(module: nn.Module, checkpoint: dict,
                   cfg: dict) -> Tuple[StateDictFit, Dict[str, torch.Tensor], str]:
    """How the checkpoint (as read) fits ``module`` under ``cfg``'s prefix:
    (the fit, the weights selected, a phrase saying how they were selected).
    Raises CheckpointError when no tensor of the module is in it or one has
    another shape. Also used by the commands' pre-flight, on names and shapes."""
    name, path = type(module).__name__, str(cfg['checkpoint'])
    try:
        weights, used = select_prefix(state_dict_of(checkpoint), cfg.get('prefix'),
                                      module.state_dict().keys())
    except CheckpointError as error:
        raise CheckpointError(f'{name}: init_cfg.checkpoint {path!r}: {error}') from None
    fit = check_fit(module, weights, purpose='init',
                    shown=f'{name}: init_cfg.checkpoint {path!r} ({used})')
    return fit, weights, used


def load_pretrained(module: nn.Module, cfg: dict) -> None:
    """Load ``cfg['checkpoint']`` into ``module`` as described above."""
    path = str(cfg['checkpoint'])
    name = type(module).__name__
    checkpoint = read_checkpoint(path, cfg.get('map_location', 'cpu'),
                                 what=f'{name}: init_cfg.checkpoint')
    fit, weights, used = pretrained_fit(module, checkpoint, cfg)
    own = module.state_dict()
    module.load_state_dict({k: v for k, v in weights.items()
                            if k in own and v.shape == own[k].shape}, strict=False)
    note = f'; {len(fit.missing)} keep their initialisation (e.g. ' \
        f'{", ".join(fit.missing[:3])})' if fit.missing else ''
    print_log(f'{name}: loaded {len(fit.loaded)} tensors from {path} ({used}){note}',
              logger='current')
