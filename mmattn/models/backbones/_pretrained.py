"""A clear error for a ``Pretrained`` init_cfg whose local file is missing."""
import os.path as osp
from typing import Optional, Union


def check_pretrained_file(init_cfg: Optional[Union[dict, list]], backbone: str,
                          hint: str) -> None:
    """Raise FileNotFoundError naming the path and what to do, before mmengine
    tries to load (or, for a bare name, to download) it."""
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    for cfg in cfgs:
        if not isinstance(cfg, dict) or cfg.get('type') != 'Pretrained':
            continue
        path = cfg.get('checkpoint')
        if path is None:
            raise ValueError(f"{backbone}: init_cfg=dict(type='Pretrained') needs "
                             "checkpoint=PATH; use init_cfg=None to train from scratch")
        path = str(path)
        if '://' in path:  # an explicit URL or mmengine scheme: user's choice
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{backbone}: pretrained checkpoint {path!r} does not exist '
                f'(init_cfg.checkpoint). {hint} Set its path with --cfg-options '
                f'model.backbone.init_cfg.checkpoint=PATH, or train from scratch '
                f'with --cfg-options model.backbone.init_cfg=None.')
