"""Loading a config: a file, or a package's config named as in ``_base_``."""
import math
import os
import os.path as osp
import re
from typing import Callable, Optional

from mmengine.config import Config

from .errors import UsageError


def _import_error(module: str) -> Optional[str]:
    try:
        __import__(module)
    except Exception as error:  # noqa: BLE001
        return str(error)
    return None


def _mentions_mmpretrain(path: str) -> bool:
    with open(path, encoding='utf-8', errors='replace') as f:
        return 'mmpretrain' in f.read()


def load_config(path: str, cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """The config at ``path`` (a ``.py`` file, or a package config such as
    ``'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'``, which mmengine's
    ``get_config`` resolves), with ``cfg_options`` merged and ``work_dir`` set
    when given. A missing file, one that is not valid Python, a missing
    ``_base_``, a codebase that is not installed, and an override that does
    not apply are UsageErrors."""
    if '::' in path:
        from mmengine.hub import get_config
        try:
            cfg = get_config(path)
        except (FileNotFoundError, ValueError, KeyError, ImportError) as error:
            raise UsageError(f'config {path!r} cannot be found: {error}') from None
    else:
        if not osp.isfile(path):
            raise UsageError(f'config file {path!r} does not exist (expected a .py config, '
                             f'e.g. configs/epsanet/mask_rcnn_epsa50_coco.py)')
        try:
            cfg = Config.fromfile(path)
        except SyntaxError as error:
            raise UsageError(f'config {path!r} is not valid Python: {error}') from None
        except (FileNotFoundError, ImportError, AssertionError, KeyError, TypeError,
                ValueError) as error:
            if 'mmpretrain' in str(error) or 'mmattn.pretrain' in str(error) \
                    or _mentions_mmpretrain(path):
                reason = _import_error('mmattn.pretrain')
                if reason is not None:
                    raise UsageError(f'config {path!r} is an mmpretrain (ImageNet pre-training) '
                                     f'config, and mmpretrain cannot be used here: {reason}'
                                     ) from None
            raise UsageError(f'config {path!r} cannot be loaded: {error}') from None
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            keys = ', '.join(cfg_options)
            raise UsageError(f'--cfg-options {keys}: cannot be applied to {path!r} ({error})'
                             ) from None
    if work_dir is not None:
        cfg.work_dir = work_dir
    return cfg


_KEY = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$')


def default_work_dir(cfg: Config, config_path: str) -> None:
    """mmdet's default: ``./work_dirs/<config name>`` unless the config or
    ``--work-dir`` set one."""
    if cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def check_option(text: str) -> None:
    """Raise UsageError unless ``text`` is a ``KEY=VALUE`` override with a
    dotted key and a value whose brackets and quotes balance."""
    key, sep, value = text.partition('=')
    if not sep or not _KEY.match(key):
        raise UsageError(f'--cfg-options {text!r} is invalid; expected KEY=VALUE with a dotted '
                         'KEY, e.g. model.backbone.depth=101 or train_cfg.max_epochs=3')
    depth, quote = [], None
    pairs = {')': '(', ']': '['}
    for char in value:
        if quote:
            quote = None if char == quote else quote
        elif char in '\'"':
            quote = char
        elif char in '([':
            depth.append(char)
        elif char in ')]':
            if not depth or depth.pop() != pairs[char]:
                depth = ['unbalanced']
                break
    if depth or quote:
        raise UsageError(f'--cfg-options {text!r} is invalid: the brackets or quotes of its '
                         'VALUE do not balance, e.g. write KEY="(0,1)" or KEY=[0,1]')


def limit_from_env(name: str, default, convert: Callable, minimum, expected: str):
    """A limit that is a choice: ``default``, or the environment variable
    ``name`` converted with ``convert`` (``int`` or ``float``); a value that is
    not a finite number >= ``minimum`` is a UsageError saying ``expected``."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        raise UsageError(f'{name}={text!r} is invalid; expected {expected}')
    return value
