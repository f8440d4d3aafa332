"""Publishing a checkpoint: the weights and the ``meta`` needed to rebuild
and test the model, nothing of the training state, under a name that carries
the first 8 hex digits of the file's sha256 (mmdet's
``publish_model.py`` convention), read with mmattn's safe reader and
written staged (nothing is left under the final name on failure)."""
import os
import os.path as osp
from typing import Tuple

import numpy as np
import torch

from mmattn.utils.checkpoint import CheckpointError, load_checkpoint_file, state_dict_of
from mmattn.utils.staged_writes import publish, sha256_of

# What of mmengine's checkpoint meta a published file keeps: enough to rebuild
# and test the model (the config, the class names) and to say what it is.
KEPT_META = ('cfg', 'dataset_meta', 'epoch', 'iter', 'seed', 'experiment_name', 'time',
             'mmengine_version', 'mmdet_version', 'mmcv_version', 'mmattn_version')
WRITTEN_BY = 'publish_model'


def plain_data(value):
    """``value`` as data ``torch.load(weights_only=True)`` reads without an
    allowlist: numbers, strings, None, tensors, and lists, tuples and
    string-keyed dicts of them (numpy values converted); anything else
    (e.g. an object the safe reader skipped) becomes None."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in 'biuf':
        return torch.from_numpy(value.copy())
    if isinstance(value, dict):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_data(v) for v in value) if type(value) in (list, tuple) \
            else [plain_data(v) for v in value]
    return None


def published_content(checkpoint, shown: str) -> dict:
    """``{'state_dict', 'meta'}`` of a read checkpoint: its weights as
    contiguous CPU tensors (a ``module.`` prefix of a wrapped model kept off)
    and the ``KEPT_META`` part of its meta as plain data."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{shown} holds a {type(checkpoint).__name__}, not a checkpoint '
                              '(a dict with a state_dict)')
    weights = state_dict_of(checkpoint)
    if not weights or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise CheckpointError(f'{shown} holds no weights (no state_dict of tensors); is it a '
                              'checkpoint of a model?')
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    kept = {k: plain_data(meta[k]) for k in KEPT_META if k in meta}
    kept['written_by'] = WRITTEN_BY
    return {'state_dict': {k: v.detach().cpu().contiguous() for k, v in weights.items()},
            'meta': kept}


def publish_checkpoint(src: str, out: str) -> Tuple[str, str]:
    """Write the published form of checkpoint ``src`` as
    ``<out without .pth>-<sha256[:8]>.pth``; returns (that path, sha256).
    The file is written beside it and renamed once complete."""
    content = published_content(load_checkpoint_file(src), f'checkpoint {src!r}')
    stem = out[:-4] if out.endswith('.pth') else out
    folder = osp.dirname(osp.abspath(stem))
    os.makedirs(folder, exist_ok=True)
    staging = f'{stem}.pth.part'
    try:
        torch.save(content, staging)
        digest = sha256_of(staging)
        final = f'{stem}-{digest[:8]}.pth'
        publish(staging, final)
    finally:
        if osp.exists(staging):
            os.remove(staging)
    return final, digest
