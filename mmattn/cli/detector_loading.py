"""Build a detector from a config and fill it from a checkpoint, as the
analysis and deployment tools need (mmdet's ``init_detector``, with mmattn's
data-only checkpoint reading and one-line errors)."""
import logging
from typing import Optional

import torch.nn as nn
from mmengine.config import Config
from mmengine.runner.checkpoint import load_state_dict

from mmattn.utils.checkpoint import check_fit, checkpoint_format, read_checkpoint, state_dict_of
from mmattn.utils.config import load_config


def load_detector(config: str, checkpoint: Optional[str], cfg_options: Optional[dict] = None,
                  device: str = 'cpu', purpose: str = 'evaluate',
                  allow_partial: bool = False) -> nn.Module:
    """The config's model in eval mode on ``device``, weights from
    ``checkpoint`` (a local file read without running code from it, or a URL
    mmengine downloads), or, with ``checkpoint=None``, initialised as the
    config says minus the backbone's pretrained weights (for timings and
    export checks). ``model.cfg`` is the config and ``model.dataset_meta``
    the checkpoint's (else the config's) class names. Raises ``UsageError``
    for a missing config, a file that is not a readable checkpoint, and one
    that does not fit the model for ``purpose`` (``evaluate`` or ``export``:
    every weight, unless ``allow_partial``; see ``check_fit``)."""
    from mmattn.models.builder import build_model_from_config
    cfg: Config = load_config(config, cfg_options)
    if checkpoint is not None and '://' not in str(checkpoint):
        checkpoint_format(checkpoint, 'checkpoint')  # before the model is built
    model = build_model_from_config(cfg, pretrained=False)  # the checkpoint has the backbone
    if checkpoint is None:
        logging.disable(logging.INFO)  # mmengine logs every parameter's initialisation
        try:
            model.init_weights()
        finally:
            logging.disable(logging.NOTSET)
        model.cfg, model.dataset_meta = cfg, {}
        return model.to(device).eval()
    data = read_checkpoint(checkpoint)
    weights = state_dict_of(data)
    check_fit(model, weights, purpose=purpose, shown=f'checkpoint {checkpoint!r}',
              allow_partial=allow_partial)
    load_state_dict(model, weights, strict=False, logger='current')
    meta = data.get('meta', {}) if isinstance(data, dict) else {}
    dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    if not dataset_meta:
        classes = cfg.get('test_dataloader', {}).get(
            'dataset', {}).get('metainfo', {}).get('classes')
        dataset_meta = {'classes': tuple(classes)} if classes else {}
    model.cfg = cfg
    model.dataset_meta = dataset_meta
    return model.to(device).eval()
