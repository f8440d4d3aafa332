"""Configs by path, or from an installed OpenMMLab package."""
from mmengine.config import Config


def load_config(path: str) -> Config:
    """A config file (``configs/...py``) or a package's own config named as in
    ``_base_`` (``'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'``), which
    ``Config.fromfile`` does not accept; mmengine's ``get_config`` resolves it
    (without pretrained weights: the analysis tools never load them)."""
    if '::' in path:
        from mmengine.hub import get_config
        return get_config(path)
    return Config.fromfile(path)
