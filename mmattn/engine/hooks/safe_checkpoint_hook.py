"""Keep checkpoints loadable by plain ``torch.load(weights_only=True)``."""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmattn.registry import register

_MARK = 'mmattn_plain_log_scalars'


def _to_plain(obj):
    """numpy scalars become Python numbers and numpy arrays tensors, through
    dicts, lists and tuples; everything else is returned as it is."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, dict):
        return type(obj)((k, _to_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(_to_plain(v) for v in obj)
    return obj


@register('HOOKS', root=True)
class SafeCheckpointHook(Hook):
    """mmengine 0.10 pickles ``HistoryBuffer`` objects (which need ``getattr``
    to rebuild) and numpy values in every checkpoint, so torch >= 2.6 refuses
    to load them by default (open-mmlab/mmengine#1655). Before saving, each
    buffer of ``checkpoint['message_hub']`` becomes
    ``{'log_history': tensor, 'count_history': tensor, 'max_length': int}``
    and numpy values in ``message_hub`` and ``meta`` become numbers or tensors;
    after loading, the buffers are rebuilt before mmengine's ``resume`` hands
    them to the message hub. Such checkpoints load with
    ``torch.load(weights_only=True)`` and no allowlist at all."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'meta' in checkpoint:
            checkpoint['meta'] = _to_plain(checkpoint['meta'])
        hub = checkpoint.get('message_hub')
        if not hub or hub.get(_MARK):
            return
        plain = {}
        for key, buffer in hub.get('log_scalars', {}).items():
            logs, counts = buffer.data
            plain[key] = dict(log_history=_to_plain(np.asarray(logs)),
                              count_history=_to_plain(np.asarray(counts)),
                              max_length=int(buffer.max_length))
        hub['log_scalars'] = plain
        for key in ('runtime_info', 'resumed_keys'):
            if key in hub:
                hub[key] = _to_plain(hub[key])
        hub[_MARK] = True

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub or not hub.pop(_MARK, False):
            return
        hub['log_scalars'] = {
            key: HistoryBuffer(log_history=np.asarray(state['log_history']),
                               count_history=np.asarray(state['count_history']),
                               max_length=state['max_length'])
            for key, state in hub['log_scalars'].items()}
