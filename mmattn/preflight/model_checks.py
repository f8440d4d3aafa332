"""Pre-flight checks of the model a run builds and the weights it loads: the
model config builds (a type-name or argument mistake is named, with the
nearest valid names), every ``num_classes`` is at least 1, each checkpoint is
a readable checkpoint and fits the model, and missing pretrained weights come
with the backbone's own advice (``missing_weights_advice``)."""
import os.path as osp
import re
from typing import Iterator, List, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config

from mmattn.utils.checkpoint import check_fit, state_dict_of, verify_checkpoint
from mmattn.utils.errors import UsageError
from .registered_names import nearest_names_hint

_NOT_REGISTERED = re.compile(r'(\S+) is not in the (\S+?)::(\w+) registry')


def registry_hint(message: str) -> str:
    """For mmengine's "X is not in the mmdet::model registry" message: the
    nearest registered names."""
    match = _NOT_REGISTERED.search(message)
    if not match:
        return ''
    return nearest_names_hint(match.group(1).strip("'`"), match.group(3), match.group(2))


def _nodes(node, path: str) -> Iterator[Tuple[str, dict]]:
    """(config path, dict) of every dict under ``node``."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _nodes(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _nodes(item, f'{path}[{i}]')


def num_classes_problems(cfg: Config) -> List[str]:
    return [f'{path}.num_classes={node["num_classes"]!r} is invalid; expected an integer >= 1 '
            '(the number of object classes)'
            for path, node in _nodes(cfg.get('model'), 'model') if 'num_classes' in node
            and (isinstance(node['num_classes'], bool) or not isinstance(node['num_classes'], int)
                 or node['num_classes'] < 1)]


def build_model(cfg: Config) -> nn.Module:
    """The config's model, on the CPU, without pretrained weights loaded.
    A mistake in the model config (a type that is not registered, an argument
    a class does not take or refuses) is a UsageError."""
    from mmattn.models.builder import build_model_from_config
    try:
        return build_model_from_config(cfg)
    except KeyError as error:
        message = str(error.args[0]) if error.args else str(error)
        match = _NOT_REGISTERED.search(message)
        if match:
            message = (f'type {match.group(1).strip(chr(39) + "`")!r} is not registered in '
                       f'{match.group(2)}::{match.group(3)}')
        raise UsageError(f'model: {message}{registry_hint(error.args[0] if error.args else "")}'
                         ) from None
    except (ValueError, TypeError, AssertionError) as error:
        raise UsageError(f'model: {error}') from None


def _submodule(model: nn.Module, cfg_path: str) -> Optional[nn.Module]:
    """The module a config path like ``model.backbone`` builds, if plain attributes."""
    parts = cfg_path.split('.')[1:]
    if any('[' in p for p in parts):
        return None
    try:
        return model.get_submodule('.'.join(parts)) if parts else model
    except AttributeError:
        return None


def _pretrained_cfgs(node) -> Iterator[Tuple[str, dict, dict]]:
    """(config path of the module, its Pretrained init_cfg, the module's dict)."""
    for path, module in _nodes(node, 'model'):
        init_cfgs = module.get('init_cfg')
        for init_cfg in init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]:
            if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                yield path, init_cfg, module


def _advice(model_cls, path: str, module_cfg: dict) -> List[str]:
    advise = getattr(model_cls, 'missing_weights_advice', None)
    if advise is not None:
        return list(advise(path, module_cfg))
    return [f'use a checkpoint you have: --cfg-options {path}.init_cfg.checkpoint=PATH',
            f'train from scratch: --cfg-options {path}.init_cfg=None']


def _model_class(module_cfg: dict, model: Optional[nn.Module], path: str):
    """The class the config path builds: from the built model, else from the
    registry of the current default scope (None if not registered)."""
    module = _submodule(model, path) if model is not None else None
    if module is not None:
        return type(module)
    from mmengine.registry import MODELS
    kind = module_cfg.get('type')
    if not isinstance(kind, str):
        return kind
    with MODELS.switch_scope_and_registry(None) as registry:
        try:
            return registry.get(kind)
        except KeyError:  # an unknown type: reported by build_model
            return None


def pretrained_problems(cfg: Config, model: Optional[nn.Module]) -> Tuple[List[str], List[str]]:
    """(problems, ways forward) for the ``init_cfg`` Pretrained checkpoints:
    missing local files (with the module's advice), files that are not
    readable checkpoints, and, for mmattn's backbones, weights that do not
    fit (no tensor of the backbone, or a tensor of another shape)."""
    from mmattn.models.backbones.pretrained import pretrained_fit
    problems: List[str] = []
    routes: List[str] = []
    for path, init_cfg, module_cfg in _pretrained_cfgs(cfg.get('model')):
        checkpoint = init_cfg.get('checkpoint')
        if not checkpoint or '://' in str(checkpoint):
            continue
        what = f'{path}.init_cfg.checkpoint'
        if not osp.exists(str(checkpoint)):
            problems.append(f'{what} {str(checkpoint)!r} does not exist')
            routes = routes or _advice(_model_class(module_cfg, model, path), path, module_cfg)
            continue
        try:
            data = verify_checkpoint(str(checkpoint), what)
            module = _submodule(model, path) if model is not None else None
            if module is not None and hasattr(type(module), 'missing_weights_advice'):
                pretrained_fit(module, data, init_cfg)
        except UsageError as error:
            problems.append(str(error))
    return problems, routes


def checkpoint_problems(model: Optional[nn.Module], path: Optional[str], what: str,
                        purpose: str, allow_partial: bool) -> List[str]:
    """A checkpoint to be loaded into the whole model (``load_from``,
    ``--resume``, ``test.py CHECKPOINT``), named ``what``: readable, and
    fitting the model for ``purpose`` (``check_fit``)."""
    if not path or '://' in str(path):
        return []
    try:
        data = verify_checkpoint(str(path), what)
        if model is not None:
            check_fit(model, state_dict_of(data), purpose=purpose, shown=f'{what} {str(path)!r}',
                      allow_partial=allow_partial)
    except UsageError as error:
        return [str(error)]
    return []
