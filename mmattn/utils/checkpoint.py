"""Reading checkpoints: the one module through which mmattn opens them.

Checkpoints are files users hand us, so nothing from them may run:

* a TorchScript archive (a zip holding ``constants.pkl`` and ``code/``, which
  ``torch.load`` passes on to ``torch.jit.load``, whose scripted
  ``__setstate__`` then runs) is refused before torch is given the file;
* the pickle inside is read by an unpickler that builds tensors, numpy arrays
  and plain data only; any other object (mmengine's ``HistoryBuffer``, a
  function reference, a ``__reduce__`` payload) becomes an inert
  ``SkippedObject``, named in one log line.

Every check here is bounded by the file's size and validates before it
allocates: a zip's members may not repeat or overlap, nor expand to more
than ``MAX_ZIP_EXPANSION`` times the file; only members torch reads are read;
each tensor must lie within a storage record as long as it declares; a
pickle may not declare a record longer than the file.

Also here: what a file is (``checkpoint_format``, which the commands' pre-flight
runs), whether a zip checkpoint is whole (``is_complete_checkpoint``), the
weights in any of the usual wrappings (``state_dict_of``), the one rule for
whether weights fit a model (``check_fit``, by purpose).
"""
import collections
import io
import mmap
import os
import os.path as osp
import pickle
import pickletools
import struct
import tarfile
import types
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .compat import torch_sees_torchscript, torch_tensor_rebuilders
from .errors import CheckpointError

__all__ = ['CheckpointError', 'PURPOSES', 'SkippedObject', 'StateDictFit', 'check_fit',
           'checkpoint_format', 'is_complete_checkpoint', 'load_checkpoint_file',
           'new_weight_prefixes', 'read_checkpoint', 'state_dict_of',
           'verify_checkpoint']


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
    """``'legacy'`` (torch's older format: a pickle of its magic number first)
    or ``'pickle'``, decided by scanning the opcodes (``_scan_pickles``)."""
    try:
        return _scan_pickles(f)
    except CheckpointError as error:
        raise CheckpointError(f'{shown} is incomplete or corrupt: {error}') from None
    except _DAMAGE as error:  # pickletools: "expected N bytes ... but only M remain"
        raise CheckpointError(f'{shown} is incomplete or corrupt (its pickle stream cannot be '
                              f'read: {error})') from None
    finally:
        f.seek(0)


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


# A torch checkpoint stores its members uncompressed, so they add up to less
# than the file; this allows re-zipped (deflated) files too, but not a zip bomb.
MAX_ZIP_EXPANSION = 4
# The members ``torch.load`` reads (under the archive's one top-level folder).
_TORCH_MEMBERS = ('data.pkl', 'byteorder', 'version', '.format_version', '.storage_alignment')


def _zip_structure_problem(archive: zipfile.ZipFile, file_size: int) -> Optional[str]:
    """Why the central directory of a torch zip cannot be trusted, or None:
    repeated names, members that overlap, or more bytes than the file can hold."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        return f'its zip directory repeats the member {repeated!r}'
    spans = sorted((info.header_offset, info.header_offset + 30 + len(info.filename.encode())
                    + info.compress_size, info.filename) for info in infos)
    for (_, end, name), (start, _, following) in zip(spans, spans[1:]):
        if start < end:
            return f'its zip members {name!r} and {following!r} overlap'
    if spans and spans[-1][1] > file_size:
        return f'its zip member {spans[-1][2]!r} runs past the end of the file'
    expanded = sum(info.file_size for info in infos)
    if expanded > MAX_ZIP_EXPANSION * file_size + 2**20:
        return (f'its zip members expand to {expanded} bytes, more than {MAX_ZIP_EXPANSION}x '
                f'the file ({file_size} bytes)')
    return None


def _read_by_torch(name: str) -> bool:
    parts = name.split('/')
    return len(parts) >= 2 and (('/'.join(parts[1:]) in _TORCH_MEMBERS)
                                or parts[1] in ('data', '.data'))


def _zip_problem(path: str) -> Optional[str]:
    """Why the zip checkpoint at ``path`` is not whole, or None: its structure
    (``_zip_structure_problem``), then the CRC of each member torch reads."""
    try:
        with zipfile.ZipFile(path) as archive:
            problem = _zip_structure_problem(archive, osp.getsize(path))
            if problem:
                return problem
            for info in archive.infolist():
                if not _read_by_torch(info.filename) or info.is_dir():
                    continue
                with archive.open(info) as member:  # CRC checked at the end of the read
                    while member.read(2**22):
                        pass
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
        return f'it cannot be read as a zip archive ({error})'
    return None


def is_complete_checkpoint(path: str) -> bool:
    """True if ``path`` is a whole torch zip checkpoint (a directory that can
    be trusted, and every member torch reads passing its CRC); a file cut off
    mid-write fails this. Bounded by the file's size (see
    ``MAX_ZIP_EXPANSION``)."""
    if not osp.isfile(path) or not zipfile.is_zipfile(path):
        return False
    return _zip_problem(path) is None


# ------------------------------------------------- records before allocations
class _StorageRecord:
    """What a pickled tensor's storage declares (read without its data)."""

    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


def _check_extent(storage, offset, size, stride) -> None:
    """A tensor view must lie within its storage (all in Python integers)."""
    if not isinstance(storage, _StorageRecord):
        return
    values = [offset, *size, *stride]
    if not all(isinstance(v, int) and v >= 0 for v in values) or len(size) != len(stride):
        raise CheckpointError('a tensor has a negative or non-integer offset, size or stride')
    if any(n == 0 for n in size):
        return
    extent = offset + sum((n - 1) * step for n, step in zip(size, stride)) + 1
    if extent > storage.numel:
        raise CheckpointError(f'a tensor of shape {tuple(size)} reaches element {extent} of '
                              f'storage {storage.key!r}, which holds {storage.numel}')


def _scan_rebuild(storage, offset, size, stride, *args, **kwargs) -> None:
    _check_extent(storage, offset, size, stride)


class _RecordScan(_DataOnlyUnpickler):
    """Reads a checkpoint's pickle without any tensor data: each storage it
    declares is checked against ``record_bytes(key)`` (the zip member's size),
    or, in the legacy format, all of them against the file's size, and each
    tensor against its storage. Nothing is allocated for the data."""

    allowed = dict(_DataOnlyUnpickler.allowed)
    allowed.update({('torch._utils', name): _scan_rebuild
                    for name in ('_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3')})
    allowed.update({('torch._utils', name): (lambda *args, **kwargs: None)
                    for name in ('_rebuild_parameter', '_rebuild_parameter_with_state')})

    def __init__(self, f, record_bytes, budget: int) -> None:
        super().__init__(f, encoding='latin1')
        self.record_bytes = record_bytes
        self.budget = budget  # legacy format: bytes left for all storages

    def find_class(self, module: str, name: str):
        if module == 'torch' and name.endswith('Storage'):
            return torch.serialization.StorageType(name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != 'storage':
            raise CheckpointError('it refers to a storage in a form torch does not write')
        storage_type, key, numel = pid[1], str(pid[2]), pid[4]
        dtype = getattr(storage_type, 'dtype', torch.uint8)
        if not isinstance(numel, int) or numel < 0 or not isinstance(dtype, torch.dtype):
            raise CheckpointError(f'storage {key!r} declares an invalid size {numel!r}')
        nbytes = numel * torch._utils._element_size(dtype)
        if self.record_bytes is not None:
            available = self.record_bytes(key)
            if available is None:
                raise CheckpointError(f'storage {key!r} has no record in the archive')
            if nbytes > available:
                raise CheckpointError(f'storage {key!r} declares {nbytes} bytes but its record '
                                      f'holds {available}')
        else:
            self.budget -= nbytes
            if self.budget < 0:
                raise CheckpointError(f'its storages declare more bytes than the file holds '
                                      f'(storage {key!r}: {nbytes})')
        return _StorageRecord(key, numel)


def _scan_zip_records(f: io.BufferedReader) -> None:
    """Check the storages and tensors ``data.pkl`` declares against the
    archive's records (``_RecordScan``) before torch allocates anything."""
    with zipfile.ZipFile(f) as archive:
        pickles = [info for info in archive.infolist() if info.filename.endswith('/data.pkl')
                   and info.filename.count('/') == 1]
        if not pickles:
            return
        prefix = pickles[0].filename[:-len('data.pkl')]
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        with archive.open(pickles[0]) as stream:
            _RecordScan(io.BytesIO(stream.read()),
                        lambda key: sizes.get(f'{prefix}data/{key}'), 0).load()
    f.seek(0)


def _scan_pickles(f: io.BufferedReader) -> str:
    """Scan a pickle file's opcodes without building anything; returns its
    kind. No opcode may declare more bytes than the file has left (pickle
    would allocate them before reading): ``pickletools`` reads through a
    ``mmap``, whose ``read(n)`` stops at the end of the file, and raises
    ValueError. In torch's legacy format (five pickles, then the storages'
    bytes) the storages may not declare more bytes than the file holds."""
    size = os.fstat(f.fileno()).st_size
    view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        first = [(op.name, arg) for op, arg, _ in pickletools.genops(view)]
        magic = torch.serialization.MAGIC_NUMBER
        if [arg for name, arg in first if name not in ('PROTO', 'STOP')] != [magic]:
            return 'pickle'
        for index in range(1, 5):  # protocol, sys info, the objects, the storage keys
            start = view.tell()
            for _ in pickletools.genops(view):
                pass
            if index == 3:
                end = view.tell()
                view.seek(start)
                _RecordScan(io.BytesIO(view.read(end - start)), None, size).load()
        return 'legacy'
    finally:
        view.close()


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
        if kind == 'zip':
            try:
                _scan_zip_records(f)
            except CheckpointError as error:
                raise CheckpointError(f'{what} {path!r} is incomplete or corrupt: {error}'
                                      ) from None
            except _DAMAGE as error:
                raise CheckpointError(f'{what} {path!r} is incomplete or corrupt and could '
                                      f'not be read ({type(error).__name__}: {error})') from None
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
    directory must be sound and every member torch reads pass its CRC, its
    tensors must lie within their storage records; a legacy or pickle one
    must read to the end. Returns what it read (for a zip checkpoint with its tensors on the
    ``meta`` device: names and shapes only), or None for a URL."""
    if '://' in str(path):
        return None
    kind = checkpoint_format(path, what)
    if kind == 'zip':
        problem = _zip_problem(path)
        if problem:
            raise CheckpointError(f'{what} {path!r} is incomplete or corrupt: {problem}')
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
            if value.dtype.kind not in 'biufc':  # objects, strings: torch has no such tensor
                raise CheckpointError(f'weight {key!r} is a numpy array of {value.dtype} '
                                      'values, not numbers')
            value = torch.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, torch.Tensor):
            if strip_module and key.startswith('module.'):
                key = key[len('module.'):]
            weights[key] = value
    return weights


def new_weight_prefixes(model: nn.Module) -> List[str]:
    """State-dict prefixes of submodules a checkpoint of the unmodified model
    cannot have: those a module lists in its ``new_submodules`` attribute
    (``WithAttention`` lists the attention blocks it adds)."""
    prefixes = []
    for name, module in model.named_modules():
        for child in getattr(module, 'new_submodules', ()):
            prefixes.append(f'{name}.{child}.' if name else f'{child}.')
    return prefixes


def _counter(key: str) -> bool:
    """BatchNorm's ``num_batches_tracked``: a counter, not a weight."""
    return key.endswith('num_batches_tracked')


def _shown(names: List[str], count: int = 3) -> str:
    return ', '.join(names[:count]) + (', ...' if len(names) > count else '')


@dataclass
class StateDictFit:
    """How a set of weights fits a model's state dict (counters ignored);
    ``new``: the model's weights under ``new_weight_prefixes`` when the
    weights hold none of them (a checkpoint of the unmodified model)."""

    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mis_shaped: List[str] = field(default_factory=list)
    new: List[str] = field(default_factory=list)

    @classmethod
    def of(cls, expected: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor],
           new_prefixes: Sequence[str] = ()) -> 'StateDictFit':
        fit = cls()
        absent = [p for p in new_prefixes if not any(k.startswith(p) for k in weights)]
        for key, value in expected.items():
            if _counter(key):
                continue
            if key not in weights:
                new = any(key.startswith(p) for p in absent)
                (fit.new if new else fit.missing).append(key)
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
        return not self.missing and not self.mis_shaped and not self.new

    def summary(self) -> str:
        """One line: counts, and a few names of each kind."""
        total = len(self.loaded) + len(self.missing) + len(self.mis_shaped) + len(self.new)
        parts = [f'{len(self.loaded)} of the model\'s {total} tensors fit']
        for label, names in (('missing', self.missing), ('mis-shaped', self.mis_shaped),
                             ('unexpected', self.unexpected),
                             ('missing: blocks added to the stock model', self.new)):
            if names:
                parts.append(f'{len(names)} {label} (e.g. {_shown(names)})')
        return '; '.join(parts)


# What a checkpoint is loaded for, and what each purpose asks of it:
# init       a backbone's init_cfg Pretrained: some of its weights, none mis-shaped
# fine-tune  load_from: every weight, but blocks added to the stock model are
#            new (a checkpoint of the stock model has none of them);
#            allow_partial: any subset
# evaluate   test.py, vis_attention: every weight; allow_partial: any subset
# export     the ONNX exporters: as evaluate
# resume     --resume: every weight, always (optimizer state follows them)
PURPOSES = ('init', 'fine-tune', 'evaluate', 'resume', 'export')
_PARTIAL_HINT = {
    'fine-tune': ' If that is intended (fine-tuning from another model), run with '
                 '--allow-partial.',
    'evaluate': ' To evaluate it anyway (part of the model keeps its initialisation), run '
                'with --allow-partial.',
    'export': ' To export it anyway (part of the model keeps its initialisation), run with '
              '--allow-partial.',
    'resume': ' A run resumes only from a checkpoint of its own model (its optimizer state '
              'follows the weights); to start a new run from these weights, give them as '
              'load_from instead.',
}


def check_fit(model: nn.Module, weights: Mapping[str, torch.Tensor], *, purpose: str,
              shown: str, allow_partial: bool = False) -> StateDictFit:
    """The one rule for whether ``weights`` may be loaded into ``model`` for
    ``purpose`` (see ``PURPOSES``); returns the fit, or raises CheckpointError
    with one message naming the file as ``shown`` (e.g. "checkpoint 'x.pth'").
    ``allow_partial`` (``--allow-partial``) accepts an incomplete fit for
    fine-tuning, evaluation and export, never for resuming."""
    if purpose not in PURPOSES:
        raise ValueError(f'purpose={purpose!r} is invalid; expected one of {PURPOSES}')
    new_prefixes = new_weight_prefixes(model) if purpose == 'fine-tune' else ()
    fit = StateDictFit.of(model.state_dict(), weights, new_prefixes)
    if purpose == 'init':
        if fit.loaded and not fit.mis_shaped:
            return fit
        name = type(model).__name__
        raise CheckpointError(f'{shown} does not fit this backbone: {fit.summary()}. Is it a '
                              f'checkpoint of this {name} (its arch or depth)?')
    if purpose == 'fine-tune':
        fit.loaded += fit.new  # new blocks keep their initialisation: nothing missing
        fit.new = []
    if fit.complete or (allow_partial and purpose != 'resume'):
        return fit
    stock = [k for k in fit.missing if any(k.startswith(p) for p in new_weight_prefixes(model))]
    why = (f' It has no weights for the {len(stock)} tensors of the blocks added to the stock '
           'model (a checkpoint of the stock model?): they would be random.'
           if stock and len(stock) == len(fit.missing) and not fit.mis_shaped else '')
    raise CheckpointError(f'{shown} does not fit the model of this config: {fit.summary()}.'
                          f'{why or " Is it a checkpoint of this config?"}'
                          f'{_PARTIAL_HINT[purpose]}')
