"""Load checkpoints without running code from them, and without a process-wide
setting.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses the
numpy values and mmengine ``HistoryBuffer`` objects that mmengine/mmpretrain
checkpoints carry besides their weights. Two scoped answers instead of a
global ``add_safe_globals``:

* ``load_checkpoint_file``: for initialising a model from a checkpoint. Keeps
  tensors and plain data (dicts, lists, numbers, strings, numpy arrays);
  every other object (a ``HistoryBuffer``, a function reference) becomes an
  inert ``SkippedObject`` and is named in one log line. Nothing from the file
  is called except the allowlisted tensor/array rebuilders below.
* ``numpy_safe_globals``: a context in which ``torch.load(weights_only=True)``
  also accepts numpy arrays and scalars (used around ``--resume``/``load_from``
  for checkpoints written before mmattn stored its log buffers as tensors).
"""
import collections
import contextlib
import pickle
from typing import Dict, Iterator, List, Tuple, Type

import numpy as np
import torch
from mmengine.logging import print_log


def _numpy_globals() -> Dict[Tuple[str, str], object]:
    found = {}
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        for name in ('_reconstruct', 'scalar'):
            found[(module_name, name)] = getattr(module, name)
    found[('numpy', 'ndarray')] = np.ndarray
    found[('numpy', 'dtype')] = np.dtype
    # numpy >= 1.25 pickles dtypes as their concrete classes (Float64DType ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            if name.endswith('DType'):
                found[('numpy.dtypes', name)] = getattr(dtypes, name)
    return found


def _data_globals() -> Dict[Tuple[str, str], object]:
    allowed: Dict[Tuple[str, str], object] = {
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('collections', 'Counter'): collections.Counter,
        ('torch', 'Size'): torch.Size,
        ('_codecs', 'encode'): __import__('_codecs').encode,  # bytes in protocol-2 pickles
    }
    for name in ('set', 'frozenset', 'slice', 'complex'):
        for module in ('builtins', '__builtin__'):
            allowed[(module, name)] = getattr(__import__('builtins'), name)
    for name in ('_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3',
                 '_rebuild_parameter', '_rebuild_parameter_with_state'):
        if hasattr(torch._utils, name):
            allowed[('torch._utils', name)] = getattr(torch._utils, name)
    for name, value in vars(torch).items():  # vars: no lazy submodule gets imported
        if isinstance(value, torch.dtype):
            allowed[('torch', name)] = value
    allowed.update(_numpy_globals())
    return allowed


class SkippedObject:
    """Stands in for an object of a checkpoint that is not plain data."""

    qualname = '?'

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass

    def __call__(self, *args, **kwargs) -> 'SkippedObject':
        return self

    def __repr__(self) -> str:
        return f'<skipped {self.qualname}>'


class _DataOnlyUnpickler(pickle.Unpickler):
    allowed = _data_globals()
    skipped: List[str] = []

    def find_class(self, module: str, name: str):
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        qualname = f'{module}.{name}'
        type(self).skipped.append(qualname)
        return type(name, (SkippedObject, ), {'qualname': qualname})


class _DataOnlyPickleModule:
    """What ``torch.load(pickle_module=...)`` needs: an ``Unpickler`` and ``load``."""

    Unpickler: Type[pickle.Unpickler] = _DataOnlyUnpickler

    @staticmethod
    def load(file, **kwargs):
        return _DataOnlyUnpickler(file, **kwargs).load()


def load_checkpoint_file(path: str, map_location='cpu') -> dict:
    """The tensors and plain data of the checkpoint at ``path`` (torch's zip or
    legacy format, or a plain pickle such as detectron2's ``.pkl``); objects
    that are not data are replaced by ``SkippedObject`` and named in one log
    line."""
    _DataOnlyUnpickler.skipped = []
    if path.endswith('.pkl'):
        with open(path, 'rb') as f:
            checkpoint = _DataOnlyUnpickler(f, encoding='latin1').load()
    else:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False,
                                pickle_module=_DataOnlyPickleModule)
    skipped = sorted(set(_DataOnlyUnpickler.skipped))
    if skipped:
        print_log(f'{path}: kept tensors and plain data; skipped objects that are not data '
                  f'({", ".join(skipped)})', logger='current')
    return checkpoint


@contextlib.contextmanager
def numpy_safe_globals() -> Iterator[None]:
    """Within the block, ``torch.load(weights_only=True)`` accepts numpy arrays
    and scalars too; nothing else changes, and nothing outlives the block."""
    context = getattr(torch.serialization, 'safe_globals', None)  # torch >= 2.5
    if context is None:
        yield
        return
    with context(list(_numpy_globals().values())):
        yield
