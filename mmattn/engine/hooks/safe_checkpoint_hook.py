"""Keep mmengine's message-hub buffers in a form ``weights_only`` loads."""
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmattn.registry import register

_MARK = 'mmattn_plain_log_scalars'


@register('HOOKS')
class SafeCheckpointHook(Hook):
    """Before saving, each ``HistoryBuffer`` of ``checkpoint['message_hub']``
    becomes ``{'log_history': ndarray, 'count_history': ndarray,
    'max_length': int}``; after loading, the buffers are rebuilt before
    mmengine's ``resume`` hands them to the message hub. Checkpoints written
    this way load with ``torch.load(weights_only=True)`` (numpy types allowed)."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub or hub.get(_MARK):
            return
        plain = {}
        for key, buffer in hub.get('log_scalars', {}).items():
            logs, counts = buffer.data
            plain[key] = dict(log_history=logs, count_history=counts,
                              max_length=buffer.max_length)
        hub['log_scalars'] = plain
        hub[_MARK] = True

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub or not hub.pop(_MARK, False):
            return
        hub['log_scalars'] = {key: HistoryBuffer(**state)
                              for key, state in hub['log_scalars'].items()}
