"""Registration of mmattn's modules in the OpenMMLab registries.

Backbones are registered in ``mmdet.registry.MODELS``, so that stock mmdet
configs (``default_scope='mmdet'``) can say ``type='EPSANet'``, and in
mmengine's root ``MODELS`` as well, where mmpretrain's and mmseg's scopes find
them. Attention blocks, like mmcv's own plugins, ``WithAttention``, and the
training hooks and runner are registered in mmengine's root registries only:
every codebase's scope (mmdet, mmpretrain, mmseg...) falls back to the root,
and so does a script with no default scope, so
``build_plugin_layer(dict(type='CBAM'), in_channels=64)`` works everywhere.

Besides that, this module creates empty child registries with scope
``'mmattn'``. mmengine tags every dict of a config inherited through
``_base_ = 'mmattn::...'`` with ``_scope_='mmattn'``; these children let such
dicts resolve (a lookup in a child falls back to its mmdet parent).
"""
from typing import Callable, Optional, Sequence, Type

from mmdet import registry as mmdet_registry
from mmengine.config import utils as config_utils
from mmengine.registry import Registry

from mmattn.utils.compat import registry_children

SCOPE = 'mmattn'

# Tell mmengine that `mmattn::` config paths belong to the `mmattn` package.
config_utils.MODULE2PACKAGE.setdefault(SCOPE, SCOPE)

_MMDET_REGISTRIES = (
    'MODELS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'METRICS', 'EVALUATOR',
    'HOOKS', 'LOOPS', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'VISUALIZERS',
    'VISBACKENDS', 'LOG_PROCESSORS')

# Scope children, one per mmdet registry (no entries of their own).
SCOPE_CHILDREN = {
    name: Registry(getattr(mmdet_registry, name).name,
                   parent=getattr(mmdet_registry, name), scope=SCOPE)
    for name in _MMDET_REGISTRIES
}


def _find_existing(registry: Registry, name: str) -> Optional[Registry]:
    """Return the registry on ``registry``'s path to the root that has ``name``."""
    registry.import_from_location()
    node: Optional[Registry] = registry
    while node is not None:
        if name in node.module_dict:
            return node
        node = node.parent
    return None


def _find_in_children(registry: Registry, name: str,
                      ignore: Sequence[str] = ()) -> Optional[Registry]:
    """A descendant registry (a codebase's scope) that already has ``name``:
    registering there would be shadowed in that scope."""
    for child in registry_children(registry).values():
        if name in child.module_dict and child.scope not in ignore:
            return child
        found = _find_in_children(child, name, ignore)
        if found is not None:
            return found
    return None


def register_class(registry: Registry, cls: Type, name: Optional[str] = None,
                   same_as_in: Sequence[str] = ()) -> Type:
    """Register ``cls`` in ``registry`` under ``name`` (default: its class
    name), refusing a name that the registry, one of its ancestors or one of
    the codebase scopes below it already holds for another class, instead of
    silently shadowing it or being shadowed. ``same_as_in`` names scopes whose
    class of that name is known to be equivalent (it then serves that scope)."""
    key = name or cls.__name__
    owner = _find_existing(registry, key) or _find_in_children(registry, key, same_as_in)
    if owner is not None:
        existing = owner.module_dict[key]
        same_class = (existing.__module__, existing.__qualname__) == (
            cls.__module__, cls.__qualname__)
        if not same_class:
            raise KeyError(
                f'mmattn cannot register {cls.__module__}.{cls.__qualname__} '
                f"as '{key}' in the {registry.name!r} registry: scope "
                f'{owner.scope!r} already has {existing.__module__}.'
                f'{existing.__qualname__} under that name')
    # force=True only replaces an earlier import of this very class.
    registry.register_module(name=key, module=cls, force=owner is not None)
    return cls


def register(registry_name: str = 'MODELS', name: Optional[str] = None,
             root: bool = False, same_as_in: Sequence[str] = ()) -> Callable[[Type], Type]:
    """Class decorator: ``register_class`` in mmdet's ``registry_name``
    registry, or with ``root=True`` in mmengine's root registry of that kind,
    where every OpenMMLab codebase (mmdet, mmpretrain, mmseg...) and scripts
    with no default scope find it, as they find mmcv's own layers."""
    registry = getattr(mmdet_registry, registry_name)
    if root:
        registry = registry.parent
    return lambda cls: register_class(registry, cls, name, same_as_in)
