"""Process-group set-up for ``--launcher pytorch`` on machines with or without CUDA."""
import os

import torch
from mmengine.config import Config

from mmattn.utils.errors import UsageError


def setup_distributed(cfg: Config, launcher: str, local_rank: int = 0) -> None:
    """Use NCCL on GPUs; on a machine without CUDA, start the gloo process group
    ourselves (mmengine's init calls ``torch.cuda.set_device`` unconditionally)
    and let DDP wrap the model without ``device_ids``, keeping every other
    setting of the config's ``model_wrapper_cfg`` (``find_unused_parameters``...).
    ``--local_rank`` (older launchers) is honoured when ``LOCAL_RANK`` is unset."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
    if launcher == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if launcher != 'pytorch':
        raise UsageError(f'--launcher {launcher} needs CUDA; on a CPU-only machine use '
                         'tools/dist_train.sh (torchrun, --launcher pytorch)')
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    wrapper = dict(type='MMDistributedDataParallel')
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper.update(device_ids=None, broadcast_buffers=False)
    cfg.model_wrapper_cfg = wrapper
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
