"""Build a detector from a config and fill it from a checkpoint, as the
analysis and deployment tools need (mmdet's ``init_detector``, with mmattn's
data-only checkpoint reading and one-line errors)."""
import logging
from typing import Optional

import torch.nn as nn
from mmengine.config import Config
from mmengine.runner.checkpoint import load_state_dict

from mmattn.models.backbones.pretrained import read_checkpoint, state_dict_of
from .config import load_config
from .preflight import UsageError, check_checkpoint


def load_detector(config: str, checkpoint: Optional[str], cfg_options: Optional[dict] = None,
                  device: str = 'cpu') -> nn.Module:
    """The config's model in eval mode on ``device``, weights from
    ``checkpoint`` (a local file read without running code from it, or a URL
    mmengine downloads), or, with ``checkpoint=None``, initialised as the
    config says minus the backbone's pretrained weights (for timings and
    export checks). ``model.cfg`` is the config and ``model.dataset_meta``
    the checkpoint's (else the config's) class names. Raises ``UsageError``
    for a missing config or checkpoint and for a checkpoint that fits none of
    the model's weights."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    cfg: Config = load_config(config, cfg_options, None)
    if checkpoint is not None:
        check_checkpoint(checkpoint, 'checkpoint')
    register_all_modules(init_default_scope=True)
    model_cfg = cfg.model.copy()
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg.backbone.init_cfg = None  # the checkpoint has the backbone too
    model = MODELS.build(model_cfg)
    if checkpoint is None:
        logging.disable(logging.INFO)  # mmengine logs every parameter's initialisation
        try:
            model.init_weights()
        finally:
            logging.disable(logging.NOTSET)
        model.cfg, model.dataset_meta = cfg, {}
        return model.to(device).eval()
    data = read_checkpoint(checkpoint)
    try:
        weights = state_dict_of(data)
    except ValueError as error:
        raise UsageError(f'checkpoint {checkpoint!r}: {error}') from None
    if not set(weights) & set(model.state_dict()):
        shown = ', '.join(sorted(weights)[:3])
        raise UsageError(f'checkpoint {checkpoint!r} has none of the weights of the model in '
                         f'{config!r} (it has e.g. {shown}); is it the checkpoint of this config?')
    load_state_dict(model, weights, strict=False, logger='current')
    meta = data.get('meta', {}) if isinstance(data, dict) else {}
    dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    if not dataset_meta:
        classes = cfg.get('test_dataloader', {}).get('dataset', {}).get('metainfo', {}).get('classes')
        dataset_meta = {'classes': tuple(classes)} if classes else {}
    model.cfg = cfg
    model.dataset_meta = dataset_meta
    return model.to(device).eval()
