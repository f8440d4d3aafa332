"""Attention blocks at any point of any backbone or neck, from a config.

    model = dict(backbone=dict(
        _delete_=True, type='WithAttention',
        module={{_base_.model.backbone}},                 # the stock config, unchanged
        insert=[dict(at='stage*', block=dict(type='CBAM'))]))

``WithAttention`` (registered in mmengine's root ``MODELS``, so mmdet,
mmpretrain and mmseg configs all find it) builds ``module`` as its codebase
would and returns that very module, with the blocks added:

* each ``insert`` entry names points by module path with glob patterns
  (``at='stage*'``, ``at=['layer3.*', 'layer4']``; ``*`` stays within one
  name, ``**`` crosses dots), or ``outputs=True`` for
  every output level of the module itself (a neck's), optionally
  ``levels=(0, 2)``; ``position='after'`` (default: the block gets the
  point's output) or ``'before'`` (its input); ``block`` is a block config
  (``dict(type='CBAM', rd_ratio=1 / 8)``; a class name or a factory key);
  ``channels`` the width at the point, measured by one forward of a small
  input (``probe_size``); a ``channels`` that disagrees with the measured
  width is refused at build time (it is trusted where the probe cannot run);
* the blocks live in ``attention_blocks`` (one list per point, key = the path
  with ``__`` for ``.``); every other state-dict key is the stock module's,
  so its checkpoints load strictly (their lack of ``attention_blocks.*``
  weights is not a missing weight: the blocks are new);
* the module's contract holds: ``frozen_stages`` and anything else that
  freezes a point's parameters freezes its blocks too (``frozen=False`` in an
  entry keeps them training, ``frozen=True`` always freezes them);
  ``norm_eval``, ``with_cp`` and ``init_weights`` work as for mmdet's plugins
  (blocks initialise after the module); ``train()``/``eval()`` reach them;
* forward hooks apply the blocks, so tracing (ONNX), ``torch.compile`` and
  ``vis_attention.py`` see them, and deep copies (EMA) copy them.

A point that matches nothing, a pattern that matches a module and one of its
descendants, and a block that cannot take a point's width are one-line
``ValueError``s at build time.
"""
import copy
import difflib
import fnmatch
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmattn.registry import register

BLOCKS_ATTR = 'attention_blocks'
_NAME = 'WithAttention'


def _key(path: str) -> str:
    return path.replace('.', '__') if path else 'outputs'


class _ApplyBlocks:
    """A forward (pre-)hook that runs a point's blocks. A callable object, not
    a closure: ``copy.deepcopy`` of the model (EMA) then maps ``blocks`` to
    the copy's own blocks."""

    def __init__(self, blocks: nn.ModuleList, levels: Optional[Sequence[int]] = None) -> None:
        self.blocks = blocks
        self.levels = levels

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x

    def __call__(self, module: nn.Module, args, output=None):
        if output is None:  # a pre-hook: the blocks on the first input
            return (self._run(args[0]),) + tuple(args[1:])
        if self.levels is None:
            return self._run(output)
        outs = list(output)
        for block, level in zip(self.blocks, self.levels):
            outs[level] = block(outs[level])
        return type(output)(outs) if isinstance(output, tuple) else outs


def _glob(pattern: str) -> 're.Pattern':
    """A module-path glob: ``*`` and ``?`` stay within one name (between dots),
    ``**`` crosses dots, ``[...]`` as in fnmatch."""
    out, i = '', 0
    while i < len(pattern):
        if pattern.startswith('**', i):
            out, i = out + '.*', i + 2
        elif pattern[i] == '*':
            out, i = out + '[^.]*', i + 1
        elif pattern[i] == '?':
            out, i = out + '[^.]', i + 1
        elif pattern[i] == '[':
            end = pattern.find(']', i)
            if end < 0:
                out, i = out + re.escape('['), i + 1
            else:
                out, i = out + fnmatch.translate(pattern[i:end + 1])[4:-3], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r'\Z')


def _matches(net: nn.Module, patterns: Sequence[str]) -> List[str]:
    paths = [name for name, _ in net.named_modules() if name]
    found = []
    for pattern in patterns:
        regex = _glob(pattern)
        hits = [p for p in paths if regex.match(p)]
        if not hits:
            close = difflib.get_close_matches(pattern, paths, n=5, cutoff=0.4) or \
                [p for p in paths if '.' not in p][:8]
            raise ValueError(f"{_NAME}: at={pattern!r} matches no submodule of "
                             f"{type(net).__name__}; nearest paths: {', '.join(close)}")
        found += [h for h in hits if h not in found]
    nested = [(a, b) for a in found for b in found if b.startswith(a + '.')]
    if nested:
        a, b = nested[0]
        raise ValueError(f'{_NAME}: at={list(patterns)} is ambiguous: it matches {a!r} and '
                         f'{b!r} inside it; name the level you mean (e.g. {a!r} or '
                         f'{a + ".*"!r})')
    return found


def _probe_input(net: nn.Module, size: int):
    """A small input for one forward: a feature pyramid for a neck (a module
    with a list of ``in_channels``), an image otherwise."""
    in_channels = getattr(net, 'in_channels', 3)
    if isinstance(in_channels, (list, tuple)):
        return ([torch.zeros(1, c, max(size // 2**(i + 2), 2), max(size // 2**(i + 2), 2))
                 for i, c in enumerate(in_channels)],)
    return (torch.zeros(1, in_channels if isinstance(in_channels, int) else 3, size, size),)


def _widths(net: nn.Module, paths: List[str], before: bool, size: int) -> Dict[str, object]:
    """The channel width at each point (a list for the module's own tuple
    outputs), from one forward of a small input in eval mode."""
    widths: Dict[str, object] = {}
    modules = dict(net.named_modules())
    hooks = []
    for path in paths:
        def record(module, args, output=None, path=path):
            x = args[0] if output is None else output
            if isinstance(x, (list, tuple)):
                widths.setdefault(path, [t.shape[1] for t in x])
            else:
                widths.setdefault(path, x.shape[1])
        target = modules[path]
        hooks.append(target.register_forward_pre_hook(record) if before
                     else target.register_forward_hook(record))
    mode = net.training
    net.train(False)
    try:
        with torch.no_grad():
            net(*_probe_input(net, size))
    except Exception as error:  # noqa: BLE001  (a module's own refusal of the probe)
        raise ValueError(f'{_NAME}: could not infer the channel widths at {paths} with a '
                         f'{size}x{size} probe ({type(error).__name__}: {error}); give '
                         'channels= (or probe_size=)') from None
    finally:
        for hook in hooks:
            hook.remove()
        net.train(mode)
    return widths


def _checked_widths(net: nn.Module, paths: List[str], before: bool, size: int,
                    channels: Optional[int], index: int) -> Dict[str, object]:
    """The widths at ``paths``: measured (``_widths``); a given ``channels``
    must agree with them, and is used as it is where the probe cannot run."""
    try:
        measured = _widths(net, paths, before, size)
    except ValueError:
        if channels is None:
            raise
        return {p: channels for p in paths}
    if channels is not None:
        wrong = {p: w for p, w in measured.items() if w != channels}
        if wrong:
            path, width = next(iter(wrong.items()))
            raise ValueError(f'{_NAME}: insert[{index}] channels={channels} does not match '
                             f'the width at {path!r}, which is {width}; remove channels= '
                             f'(it is measured) or set it to {width}')
    return measured


def _build_block(block: Union[str, dict], channels: int, where: str) -> nn.Module:
    from mmengine.registry import MODELS

    from ..layers.factory import ATTENTION_BLOCKS
    cfg = dict(type=block) if isinstance(block, str) else dict(block)
    kind = cfg.get('type')
    if kind in ATTENTION_BLOCKS:
        cfg['type'] = ATTENTION_BLOCKS[kind].__name__
    elif not isinstance(kind, type) and MODELS.get(kind) is None:
        ours = ', '.join(f'{key} ({cls.__name__})' for key, cls in ATTENTION_BLOCKS.items())
        raise ValueError(f'{_NAME}: block type {kind!r} is unknown; ours: {ours}; or any '
                         'module registered in MODELS that takes in_channels')
    try:
        return MODELS.build(dict(cfg, in_channels=channels))
    except (ValueError, TypeError, KeyError) as error:
        message = error.args[0] if error.args else error
        raise ValueError(f'{_NAME}: block {kind!r} cannot go at {where} ({channels} channels): '
                         f'{message}') from None


class _Point:
    """One insertion point: where, the blocks, how freezing follows."""

    def __init__(self, path: str, blocks: nn.ModuleList, frozen: Optional[bool]) -> None:
        self.path = path
        self.blocks = blocks
        self.frozen = frozen


class WithAttentionMixin:
    """Mixed into the wrapped module's class (``WithAttention`` makes the
    subclass): ``train`` then applies the blocks' freezing, ``init_weights``
    initialises the blocks after the module, and a stock checkpoint's lack of
    block weights is not reported as missing."""

    _attention_points: List[_Point]
    # what a checkpoint of the stock module cannot hold (utils/checkpoint.py: check_fit)
    new_submodules = (BLOCKS_ATTR, )

    def train(self, mode: bool = True):
        super().train(mode)  # (mmdet's ResNet.train returns None)
        self.freeze_attention_blocks()
        return self

    def freeze_attention_blocks(self) -> None:
        """Each point's blocks frozen when its module is (its parameters all
        frozen, as ``frozen_stages`` leaves them), unless the entry says."""
        modules = dict(self.named_modules())
        for point in self._attention_points:
            target = modules[point.path]
            params = [p for name, p in target.named_parameters()
                      if not name.startswith(BLOCKS_ATTR + '.')]
            frozen = point.frozen if point.frozen is not None else \
                bool(params) and not any(p.requires_grad for p in params)
            for p in point.blocks.parameters():
                p.requires_grad = not frozen
            if frozen:
                point.blocks.eval()

    def init_weights(self) -> None:
        super().init_weights()
        for point in self._attention_points:
            for block in point.blocks:
                if hasattr(block, 'init_weights'):
                    block.init_weights()


def _fresh_block_keys(module: nn.Module, incompatible) -> None:
    """load_state_dict post hook: when none of the blocks' weights was in the
    state dict (a checkpoint of the stock module), they are new, not missing."""
    missing = [k for k in incompatible.missing_keys if f'{BLOCKS_ATTR}.' in k]
    own = [k for k in module.state_dict() if k.startswith(BLOCKS_ATTR + '.')
           and not k.endswith('num_batches_tracked')]  # (BatchNorm fills in its counter)
    if own and all(any(m.endswith(k) for m in missing) for k in own):
        for key in missing:
            if any(key.endswith(k) for k in own):
                incompatible.missing_keys.remove(key)


_CLASSES: Dict[type, type] = {}


def _with_attention_class(cls: type) -> type:
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f'{cls.__name__}{_NAME}', (WithAttentionMixin, cls),
                             {'__module__': __name__, '__doc__': cls.__doc__})
    return _CLASSES[cls]


def _entry(spec: dict, index: int) -> Tuple:
    unknown = set(spec) - {'at', 'outputs', 'levels', 'block', 'position', 'channels', 'frozen'}
    if unknown:
        raise ValueError(f'{_NAME}: insert[{index}] has unknown keys {sorted(unknown)}; valid: '
                         "at or outputs (levels), block, position, channels, frozen")
    if 'block' not in spec:
        raise ValueError(f"{_NAME}: insert[{index}] needs block=dict(type=...)")
    if ('at' in spec) == bool(spec.get('outputs')):
        raise ValueError(f'{_NAME}: insert[{index}] needs either at=PATTERN(S) or outputs=True')
    position = spec.get('position', 'after')
    if position not in ('after', 'before'):
        raise ValueError(f"{_NAME}: insert[{index}] position={position!r} is invalid; "
                         "expected 'after' or 'before'")
    if spec.get('frozen') not in (None, True, False):
        raise ValueError(f"{_NAME}: insert[{index}] frozen={spec['frozen']!r} is invalid; "
                         'expected None (follow the module), True or False')
    return position, spec.get('channels'), spec.get('frozen')


_UNSET = object()


@register(root=True, name=_NAME)
def with_attention(module: dict, insert: Sequence[dict], probe_size: int = 256,
                   pretrained: Optional[str] = None, init_cfg=_UNSET) -> nn.Module:
    """Build ``module`` and insert attention blocks into it (see the module
    docstring). ``pretrained`` (what mmseg's ``EncoderDecoder`` hands its
    backbone, the stock configs' ``model.pretrained``) and ``init_cfg`` (e.g.
    ``--cfg-options model.backbone.init_cfg=None``) are passed on to ``module``."""
    from mmengine.registry import MODELS
    if not isinstance(insert, (list, tuple)) or not insert:
        raise ValueError(f'{_NAME}: insert={insert!r} must be a non-empty list of '
                         'dict(at=..., block=...)')
    module = copy.deepcopy(module)
    if pretrained is not None:
        module['pretrained'] = pretrained
    if init_cfg is not _UNSET:
        module['init_cfg'] = init_cfg
    net = MODELS.build(module)
    blocks_dict = nn.ModuleDict()
    points: List[_Point] = []
    for index, spec in enumerate(insert):
        position, channels, frozen = _entry(dict(spec), index)
        if spec.get('outputs'):
            widths = channels if channels is not None else \
                _widths(net, [''], False, probe_size)['']
            if not isinstance(widths, (list, tuple)):
                widths = [widths]
            levels = tuple(spec.get('levels') or range(len(widths)))
            if any(not 0 <= lvl < len(widths) for lvl in levels):
                raise ValueError(f'{_NAME}: insert[{index}] levels={levels} is invalid; the '
                                 f'module has {len(widths)} outputs')
            blocks = nn.ModuleList(
                _build_block(spec['block'], widths[lvl], f'output {lvl}') for lvl in levels)
            blocks_dict[f'outputs_{index}'] = blocks
            net.register_forward_hook(_ApplyBlocks(blocks, levels))
            points.append(_Point('', blocks, frozen))
            continue
        patterns = [spec['at']] if isinstance(spec['at'], str) else list(spec['at'])
        paths = _matches(net, patterns)
        widths = _checked_widths(net, paths, position == 'before', probe_size, channels,
                                 index)
        modules = dict(net.named_modules())
        for path in paths:
            width = widths[path]
            if isinstance(width, (list, tuple)):
                raise ValueError(f'{_NAME}: {path!r} gives {len(width)} outputs; use '
                                 'outputs=True on a module with several outputs')
            key = _key(path) if position == 'after' else f'{_key(path)}__before'
            blocks = blocks_dict[key] if key in blocks_dict else nn.ModuleList()
            blocks.append(_build_block(spec['block'], width, repr(path)))
            if key not in blocks_dict:
                blocks_dict[key] = blocks
                hook = _ApplyBlocks(blocks)
                if position == 'after':
                    modules[path].register_forward_hook(hook)
                else:
                    modules[path].register_forward_pre_hook(hook)
                points.append(_Point(path, blocks, frozen))
    net.add_module(BLOCKS_ATTR, blocks_dict)
    net._attention_points = points
    net.__class__ = _with_attention_class(type(net))
    net.register_load_state_dict_post_hook(_fresh_block_keys)
    net.freeze_attention_blocks()
    return net
