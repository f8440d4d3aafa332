"""Small helpers shared across mmattn: all-or-nothing writes of files and
folders. The tool code that lived here moved to ``mmattn.analysis``,
``mmattn.converters`` and ``mmattn.datasets.synthetic``; the old names still
resolve, with a FutureWarning."""
import importlib
import warnings

from .staged_directory import staged_directory, staged_file

__all__ = ['staged_directory', 'staged_file']

_MOVED = {
    'make_synthetic_coco': 'mmattn.datasets.synthetic',
    'make_synthetic_imagenet': 'mmattn.datasets.synthetic',
    'SYNTHETIC_CLASSES': 'mmattn.datasets.synthetic',
    'SYNTHETIC_TEXTURES': 'mmattn.datasets.synthetic',
    'vovnet_checkpoints': 'mmattn.converters',
    'benchmark': 'mmattn.analysis',
}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    warnings.warn(f'mmattn.utils.{name} moved to {_MOVED[name]}.{name}', FutureWarning,
                  stacklevel=2)
    package = importlib.import_module(_MOVED[name])
    if hasattr(package, name):  # a function or constant the package exports
        return getattr(package, name)
    return importlib.import_module(f'{_MOVED[name]}.{name}')  # a module
