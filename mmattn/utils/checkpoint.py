"""Reading checkpoints: the one module through which mmattn opens them.

Checkpoints are files users hand us, so nothing from them may run:

* a TorchScript archive (a zip holding ``constants.pkl`` and ``code/``, which
  ``torch.load`` passes on to ``torch.jit.load``, whose scripted
  ``__setstate__`` then runs) is refused before torch is given the file;
* the pickle inside is read by an unpickler that builds tensors, numpy arrays
  and plain data only; any other object (mmengine's ``HistoryBuffer``, a
  function reference, a ``__reduce__`` payload) becomes an inert
  ``SkippedObject``, named in one log line.

Also here: what a file is (``checkpoint_format``, which the commands' pre-flight
runs), whether a zip checkpoint is whole (``is_complete_checkpoint``), the
weights in any of the usual wrappings (``state_dict_of``), how weights fit a
model (``StateDictFit``), and ``numpy_safe_globals`` for ``torch.load``'s own
``weights_only`` mode.
"""
import collections
import contextlib
import io
import os.path as osp
import pickle
import struct
import tarfile
import types
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np
import torch

from .compat import torch_sees_torchscript, torch_tensor_rebuilders
from .errors import CheckpointError

__all__ = ['CheckpointError', 'SkippedObject', 'StateDictFit', 'checkpoint_format',
           'is_complete_checkpoint', 'load_checkpoint_file', 'numpy_safe_globals',
           'read_checkpoint', 'state_dict_of', 'verify_checkpoint']


# ------------------------------------------------------------ what may be built
def _numpy_globals() -> Dict[Tuple[str, str], object]:
    found = {}
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            with warnings.catch_warnings():  # numpy 2 warns on numpy.core
                warnings.simplefilter('ignore')
                module = __import__(module_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        for name in ('_reconstruct', 'scalar'):
            found[(module_name, name)] = getattr(module, name)
    found[('numpy', 'ndarray')] = np.ndarray
    found[('numpy', 'dtype')] = np.dtype
    # numpy >= 1.25 pickles dtypes as their concrete classes (Float64DType ...)
    for name in dir(getattr(np, 'dtypes', None) or ()):
        if name.endswith('DType'):
            found[('numpy.dtypes', name)] = getattr(np.dtypes, name)
    return found


def _data_globals() -> Dict[Tuple[str, str], object]:
    """Everything the data-only unpickler may build: containers, tensors (via
    torch's rebuild functions), dtypes and numpy arrays."""
    allowed: Dict[Tuple[str, str], object] = {
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('collections', 'Counter'): collections.Counter,
        ('torch', 'Size'): torch.Size,
        ('_codecs', 'encode'): __import__('_codecs').encode,  # bytes in protocol-2 pickles
    }
    for name in ('set', 'frozenset', 'slice', 'complex'):
        for module in ('builtins', '__builtin__'):
            allowed[(module, name)] = getattr(__import__('builtins'), name)
    for name, function in torch_tensor_rebuilders().items():
        allowed[('torch._utils', name)] = function
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
    """Builds only what ``_data_globals`` allows; records what it skipped."""

    allowed = _data_globals()

    def __init__(self, *args, skipped: Optional[List[str]] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skipped = [] if skipped is None else skipped

    def find_class(self, module: str, name: str):
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        qualname = f'{module}.{name}'
        self.skipped.append(qualname)
        return type(name, (SkippedObject, ), {'qualname': qualname})


def _pickle_module(skipped: List[str]):
    """What ``torch.load(pickle_module=...)`` uses: an ``Unpickler`` class and
    ``load``, both recording into ``skipped`` (one list per call)."""

    class Unpickler(_DataOnlyUnpickler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, skipped=skipped, **kwargs)

    module = types.ModuleType('mmattn_data_only_pickle')
    module.Unpickler = Unpickler
    module.load = lambda file, **kwargs: Unpickler(file, **kwargs).load()
    return module


# ------------------------------------------------------------- what a file is
_TORCHSCRIPT_ADVICE = ('not a checkpoint of weights; refused, because loading it would run '
                       'the code it carries. Where it was made, save the weights instead: '
                       'torch.save(model.state_dict(), PATH)')


def _zip_kind(f: io.BufferedReader, shown: str) -> str:
    try:
        with zipfile.ZipFile(f) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise CheckpointError(f'{shown} is incomplete or corrupt (a zip archive cut off while '
                              'being written?)') from None
    finally:
        f.seek(0)
    # A TorchScript archive holds <name>/constants.pkl and <name>/code/; torch
    # dispatches on the first. Anything that merely looks like one is refused
    # too, and torch's own test (on torch's own zip reader) is asked as well.
    parts = [name.split('/') for name in names]
    if any(p[-1] == 'constants.pkl' or (len(p) > 2 and p[1] == 'code') for p in parts) \
            or torch_sees_torchscript(f):
        raise CheckpointError(f'{shown} is a TorchScript archive (a saved scripted or traced '
                              f'model), {_TORCHSCRIPT_ADVICE}')
    if not any(p[-1] == 'data.pkl' for p in parts):
        raise CheckpointError(f'{shown} is a zip archive but not a torch checkpoint (it holds '
                              'no data.pkl)')
    return 'zip'


def _pickle_kind(f: io.BufferedReader, shown: str) -> str:
    try:
        first = _DataOnlyUnpickler(f, encoding='latin1').load()
    except _DAMAGE:
        raise CheckpointError(f'{shown} is incomplete or corrupt (its pickle stream cannot be '
                              'read)') from None
    finally:
        f.seek(0)
    # torch's legacy (non-zip) format starts with its magic number
    return 'legacy' if first == torch.serialization.MAGIC_NUMBER else 'pickle'


def _format_of_open_file(f: io.BufferedReader, path: str, what: str) -> str:
    shown = f'{what} {path!r}'
    head = f.read(4)
    f.seek(0)
    if not head:
        raise CheckpointError(f'{shown} is empty')
    if head.startswith(b'PK'):
        return _zip_kind(f, shown)
    if head[:1] == b'\x80':
        return _pickle_kind(f, shown)
    if tarfile.is_tarfile(path):
        raise CheckpointError(f'{shown} is in the tar format of torch < 0.4, which mmattn does '
                              'not read; load and save it again with a newer torch')
    raise CheckpointError(f"{shown} is not a checkpoint (neither torch's zip format nor a "
                          'pickle)')


def _check_exists(path: str, what: str) -> None:
    if not osp.exists(path):
        raise CheckpointError(f'{what} {path!r} does not exist')
    if not osp.isfile(path):
        raise CheckpointError(f'{what} {path!r} is not a file')


def checkpoint_format(path: str, what: str = 'checkpoint') -> str:
    """What the file at ``path`` is: ``'zip'`` (torch >= 1.6), ``'legacy'``
    (torch's older pickle format) or ``'pickle'`` (a plain pickle, e.g.
    detectron2's ``.pkl``). Raises ``CheckpointError``, naming the file as
    ``what``, for a missing or empty file, a TorchScript archive, a damaged
    zip or pickle, and anything else."""
    _check_exists(path, what)
    with open(path, 'rb') as f:
        return _format_of_open_file(f, path, what)


def is_complete_checkpoint(path: str) -> bool:
    """True if ``path`` is a whole torch zip checkpoint (central directory and
    every member's CRC intact); a file cut off mid-write fails this."""
    if not osp.isfile(path) or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


# ------------------------------------------------------------------- reading
# How a damaged file shows up while torch or pickle reads it (a bug of ours,
# e.g. an AttributeError, is not among them and keeps its traceback).
_DAMAGE = (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, OSError, KeyError,
           IndexError, zipfile.BadZipFile, UnicodeDecodeError, struct.error)


def load_checkpoint_file(path: str, map_location='cpu', what: str = 'checkpoint') -> dict:
    """The tensors and plain data of the checkpoint at ``path`` (torch's zip or
    legacy format, or a plain pickle such as detectron2's ``.pkl``). Objects
    that are not data become ``SkippedObject`` and are named in one log line.
    ``map_location='meta'`` reads names and shapes without the tensors' data.
    Raises ``CheckpointError`` (see ``checkpoint_format``) for a file that is
    not a readable checkpoint."""
    from mmengine.logging import print_log
    _check_exists(path, what)
    skipped: List[str] = []
    # One open file for the check and the load: what was checked is what loads.
    with open(path, 'rb') as f:
        kind = _format_of_open_file(f, path, what)
        try:
            if kind == 'pickle':
                checkpoint = _DataOnlyUnpickler(f, encoding='latin1', skipped=skipped).load()
            else:
                with warnings.catch_warnings():  # about weights_only=False: our unpickler
                    warnings.simplefilter('ignore')
                    checkpoint = torch.load(f, map_location=map_location, weights_only=False,
                                            pickle_module=_pickle_module(skipped))
        except _DAMAGE as error:
            raise CheckpointError(f'{what} {path!r} is incomplete or corrupt and could not be '
                                  f'read ({type(error).__name__}: {error})') from None
    if skipped:
        print_log(f'{path}: kept tensors and plain data; skipped objects that are not data '
                  f'({", ".join(sorted(set(skipped)))})', logger='current')
    return checkpoint


def verify_checkpoint(path: str, what: str = 'checkpoint') -> Optional[dict]:
    """Raise ``CheckpointError`` unless ``path`` is a URL (read when it is
    used) or a whole checkpoint mmattn can read as data: a zip checkpoint's
    every member must pass its CRC, a legacy or pickle one must read to the
    end. Returns what it read (for a zip checkpoint with its tensors on the
    ``meta`` device: names and shapes only), or None for a URL."""
    if '://' in str(path):
        return None
    kind = checkpoint_format(path, what)
    if kind == 'zip':
        if not is_complete_checkpoint(path):
            raise CheckpointError(f'{what} {path!r} is incomplete or corrupt (cut off while '
                                  'being written?)')
        return load_checkpoint_file(path, map_location='meta', what=what)
    return load_checkpoint_file(path, map_location='cpu', what=what)


def read_checkpoint(path: str, map_location='cpu', what: str = 'checkpoint') -> dict:
    """A checkpoint's content: a URL (``https://``, ``torchvision://`` ...)
    through mmengine's loaders, which download it (torch >= 2.6 reads those
    with ``weights_only=True``), a local file through ``load_checkpoint_file``."""
    if '://' in str(path):
        from mmengine.runner.checkpoint import CheckpointLoader
        return CheckpointLoader.load_checkpoint(str(path), map_location=map_location,
                                                logger='current')
    return load_checkpoint_file(str(path), map_location=map_location, what=what)


# ------------------------------------------------------------------- weights
def state_dict_of(checkpoint, strip_module: bool = True) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint in any of the usual wrappings (mmengine's and
    the official ``main.py``'s ``state_dict``, detectron2's ``model``, or a bare
    state dict) as tensors (detectron2's ``.pkl`` holds numpy arrays), with
    DataParallel/DDP's ``module.`` prefixes removed unless ``strip_module`` is
    False. Raises CheckpointError for anything that is not a dict of weights."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'expected a dict of weights (optionally under "model" or '
                              f'"state_dict"), got {type(checkpoint).__name__}')
    weights = {}
    for key, value in checkpoint.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, torch.Tensor):
            if strip_module and key.startswith('module.'):
                key = key[len('module.'):]
            weights[key] = value
    return weights


# Submodules whose weights a checkpoint of the unmodified model cannot have:
# the attention blocks ``WithAttention`` adds (models/wrappers). When a
# checkpoint has none of them, they are new, not missing.
FRESH_MODULES = ('attention_blocks',)


def _fresh_keys(expected: Mapping, weights: Mapping) -> set:
    """The model's keys under a ``FRESH_MODULES`` submodule the weights have
    none of."""
    new = [f'{name}.' for name in FRESH_MODULES
           if not any(f'{name}.' in key for key in weights)]
    return {key for key in expected
            if any(key.startswith(segment) or f'.{segment}' in key for segment in new)}


def _counter(key: str) -> bool:
    """BatchNorm's ``num_batches_tracked``: a counter, not a weight."""
    return key.endswith('num_batches_tracked')


def _shown(names: List[str], count: int = 3) -> str:
    return ', '.join(names[:count]) + (', ...' if len(names) > count else '')


@dataclass
class StateDictFit:
    """How a set of weights fits a model's state dict (counters ignored)."""

    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mis_shaped: List[str] = field(default_factory=list)

    @classmethod
    def of(cls, expected: Mapping[str, torch.Tensor],
           weights: Mapping[str, torch.Tensor]) -> 'StateDictFit':
        fit = cls()
        fresh = _fresh_keys(expected, weights)
        for key, value in expected.items():
            if _counter(key) or key in fresh:
                continue
            if key not in weights:
                fit.missing.append(key)
            elif tuple(weights[key].shape) != tuple(value.shape):
                fit.mis_shaped.append(f'{key} (file {tuple(weights[key].shape)}, model '
                                      f'{tuple(value.shape)})')
            else:
                fit.loaded.append(key)
        fit.unexpected = [k for k in weights if k not in expected and not _counter(k)]
        return fit

    @property
    def complete(self) -> bool:
        """Every weight of the model filled, with its own shape."""
        return not self.missing and not self.mis_shaped

    def refusal(self, shown: str, allow_partial_hint: bool = True) -> str:
        """The one message a command prints when it refuses these weights
        for a model; ``shown`` names the file (e.g. "checkpoint 'x.pth'")."""
        how = (' If that is intended (fine-tuning from another model), run with '
               '--allow-partial.' if allow_partial_hint else '')
        return (f'{shown} does not fit the model of this config: {self.summary()}. Is it a '
                f'checkpoint of this config?{how}')

    def summary(self) -> str:
        """One line: counts, and a few names of each kind."""
        total = len(self.loaded) + len(self.missing) + len(self.mis_shaped)
        parts = [f'{len(self.loaded)} of the model\'s {total} tensors fit']
        for label, names in (('missing', self.missing), ('mis-shaped', self.mis_shaped),
                             ('unexpected', self.unexpected)):
            if names:
                parts.append(f'{len(names)} {label} (e.g. {_shown(names)})')
        return '; '.join(parts)


# -------------------------------------------------------- torch's weights_only
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
