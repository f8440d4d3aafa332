"""mmattn's models, registered in mmdet's MODELS: attention blocks (``layers``,
also in mmengine's root registry), backbones, and CenterMask's parts
(``dense_heads``, ``roi_heads``, ``detectors``)."""
from .backbones import *  # noqa: F401,F403
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .layers import build_attention
from .roi_heads import *  # noqa: F401,F403

__all__ = ['build_attention']
