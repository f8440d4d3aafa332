"""mmattn: CNN attention blocks, EPSANet and VoVNetV2-eSE for MMDetection 3.x.

Importing mmattn registers all its models in MMDetection's registries and
makes ``_base_ = 'mmattn::...'`` resolvable in configs.
"""
from .version import __version__
from . import registry  # noqa: F401  (scope and mmengine config hook first)
from . import datasets  # noqa: F401,E402
from . import engine  # noqa: F401,E402
from . import models  # noqa: F401,E402

__all__ = ['__version__']
