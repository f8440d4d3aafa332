"""mmattn: CNN attention blocks, EPSANet and VoVNetV2-eSE for MMDetection 3.x.

Importing mmattn registers all its models in MMDetection's registries and
makes ``_base_ = 'mmattn::...'`` resolvable in configs.
"""
# isort: skip_file
import warnings

# mmengine imports pkg_resources when it resolves `mmdet::` configs, and
# setuptools >= 67 deprecates it with three lines on every start of every tool
# (once per rank under torchrun): noise for a user, so only that one is hidden.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

# the scope and mmengine's config hook first, then what registers
from .version import __version__  # noqa: E402
from . import registry  # noqa: F401,E402
from . import datasets  # noqa: F401,E402
from . import engine  # noqa: F401,E402
from . import models  # noqa: F401,E402

__all__ = ['__version__']
