"""Conv-BN folding on the fly, for inference.

In eval mode a BatchNorm after a convolution is an affine map per channel, so
``norm(conv(x)) == conv'(x)`` with ``w' = w * s``, ``b' = beta + (b - mean) * s``
and ``s = gamma / sqrt(var + eps)``: what mmcv's ``fuse_conv_bn`` (``--fuse-conv-bn``)
does to a model once and for good. Here the model is left as it is; a backbone
runs a (conv, norm) pair through :func:`conv_bn` and, when folding is
possible, gets the folded convolution, with the folded parameters cached and
recomputed whenever a source tensor changes (new storage or an in-place update:
``load_state_dict``, ``.to()``, an optimiser step). This saves the BN pass and,
on CPUs, a fresh output buffer per pair (page faults for the largest maps).

Whether a forward folds at all (autograd off, not tracing, folding enabled)
is decided by ``forward_plan.plan_forward``; each pair then folds only when
it computes the same function (within float rounding, ~1e-6 relative):
``can_fold``, a ``_BatchNorm`` in eval mode with running statistics after a
zero-padded ``nn.Conv2d``, neither module hooked (a hook must see its module
run).
"""
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from mmattn.utils.compat import global_module_hooks_present, module_hooked


class FoldedConvBNCache:
    """Folded (weight, bias) per conv, keyed by the source tensors' storage and
    version; ``enabled=False`` turns folding off. The entries are neither
    copied nor pickled with their module: a copy refolds."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.entries: Dict[int, Tuple[tuple, torch.Tensor, torch.Tensor]] = {}

    def clear(self) -> None:
        self.entries.clear()

    def __deepcopy__(self, memo) -> 'FoldedConvBNCache':
        return FoldedConvBNCache(self.enabled)

    def __getstate__(self) -> dict:
        return {'enabled': self.enabled, 'entries': {}}


def folding_caches(module: nn.Module) -> list:
    """The ``folded`` caches of ``module`` and its submodules."""
    return [m.folded for m in module.modules()
            if isinstance(getattr(m, 'folded', None), FoldedConvBNCache)]


def drop_folded(module: nn.Module) -> None:
    """Drop the folded weights cached in ``module`` and its submodules (they
    are for inference only; called when a backbone changes mode)."""
    for cache in folding_caches(module):
        cache.clear()


def set_folding(module: nn.Module, enabled: bool) -> None:
    """Turn folding on or off in every cache of ``module`` (dropping entries)."""
    for cache in folding_caches(module):
        cache.enabled = enabled
        cache.clear()


def can_fold(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether ``norm(conv(x))`` may run as one folded convolution (in a
    forward that folds: see ``forward_plan``)."""
    return (isinstance(conv, nn.Conv2d) and conv.padding_mode == 'zeros'
            and isinstance(norm, _BatchNorm) and not norm.training
            and norm.running_mean is not None and norm.running_var is not None
            and not (module_hooked(conv) or module_hooked(norm))
            and not global_module_hooks_present())


def folded_parameters(conv: nn.Conv2d, norm: _BatchNorm,
                      layout: torch.memory_format = torch.contiguous_format
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The folded convolution's weight (in memory format ``layout``) and bias,
    computed in float32 or better and returned in the weight's dtype."""
    dtype = torch.promote_types(conv.weight.dtype, torch.float32)
    scale = torch.rsqrt(norm.running_var.to(dtype) + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight.to(dtype)
    shift = -norm.running_mean.to(dtype) * scale
    if conv.bias is not None:
        shift = shift + conv.bias.to(dtype) * scale
    if norm.bias is not None:
        shift = shift + norm.bias.to(dtype)
    weight = (conv.weight.to(dtype) * scale.reshape(-1, 1, 1, 1)).contiguous(memory_format=layout)
    return weight.to(conv.weight.dtype), shift.to(conv.weight.dtype)


def _sources_key(conv: nn.Conv2d, norm: _BatchNorm, layout: torch.memory_format) -> tuple:
    tensors = (conv.weight, conv.bias, norm.weight, norm.bias, norm.running_mean, norm.running_var)
    return tuple((t.data_ptr(), t._version, t.dtype, t.device) if t is not None else None
                 for t in tensors) + (norm.eps, layout)


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def conv_bn(conv: nn.Module, norm: nn.Module, x: torch.Tensor, cache: FoldedConvBNCache,
            fold: bool) -> torch.Tensor:
    """``norm(conv(x))``: with ``fold`` (the forward's plan) and where
    :func:`can_fold` allows, as one folded convolution (parameters from
    ``cache``), else by calling both modules. The folded weight is stored in
    ``x``'s layout (NHWC for an NHWC input), so oneDNN does not reorder the
    weight on every call."""
    if not fold or not can_fold(conv, norm):
        return norm(conv(x))
    layout = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
    key = _sources_key(conv, norm, layout)
    entry = cache.entries.get(id(conv))
    if entry is None or entry[0] != key:
        entry = (key, *folded_parameters(conv, norm, layout))
        cache.entries[id(conv)] = entry
    return F.conv2d(x, entry[1], entry[2], conv.stride, conv.padding, conv.dilation, conv.groups)


def sequential_folding(seq: nn.Sequential, x: torch.Tensor, cache: FoldedConvBNCache,
                       fold: bool) -> torch.Tensor:
    """``seq(x)``, with every convolution that is directly followed by a norm
    run as a pair through :func:`conv_bn`."""
    modules = list(seq)
    i = 0
    while i < len(modules):
        if (i + 1 < len(modules) and isinstance(modules[i], nn.Conv2d)
                and isinstance(modules[i + 1], _BatchNorm)):
            x = conv_bn(modules[i], modules[i + 1], x, cache, fold)
            i += 2
        else:
            x = modules[i](x)
            i += 1
    return x
