"""The lowest layer of mmattn, used by every other part: the user-mistake
error type (``errors``), reading checkpoints safely (``checkpoint``), loading
configs (``config``), all-or-nothing writes (``staged_writes``) and the private
upstream APIs mmattn relies on (``compat``)."""
from .errors import CheckpointError, UsageError
from .staged_writes import MADE_BY_MMATTN, publish, staged_directory, staged_file

__all__ = ['CheckpointError', 'UsageError', 'MADE_BY_MMATTN', 'publish', 'register_all_modules',
           'staged_directory', 'staged_file']


def register_all_modules(init_default_scope: bool = True) -> None:
    """mmengine's convention for a codebase (``<scope>.utils.register_all_modules``,
    what mmengine calls for the ``mmattn`` scope): register mmattn's modules
    (and mmdet's), and with ``init_default_scope`` make ``mmdet`` the default
    scope, as mmattn's configs run in it."""
    from mmdet.utils import register_all_modules as register_mmdet

    import mmattn  # noqa: F401  (registers on import)
    register_mmdet(init_default_scope)
