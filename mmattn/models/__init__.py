"""mmattn's models, laid out as mmdet's: attention blocks (``layers``, registered
in mmengine's root MODELS registry, where every codebase's scope finds them),
backbones and CenterMask's parts (``dense_heads``, ``roi_heads``,
``detectors``), registered in mmdet's MODELS; ``wrappers`` (``WithAttention``,
in the root registry too)."""
from .backbones import *  # noqa: F401,F403
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .layers import build_attention
from .roi_heads import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403

__all__ = ['build_attention']
