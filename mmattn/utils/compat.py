"""The private parts of torch, mmengine and mmcv that mmattn relies on, in one
place. Each has a public fallback or fails loudly; ``tests/test_compat.py``
fails when an upstream release changes one of them."""
from typing import BinaryIO, Dict, Iterator, Optional

import torch
import torch.nn as nn


def torch_sees_torchscript(opened_file: BinaryIO) -> Optional[bool]:
    """Whether ``torch.load`` would hand this zip file to ``torch.jit.load``,
    decided by torch's own test on torch's own zip reader; None where this
    torch has no such test (the caller then relies on its own check). The file
    position is restored."""
    serialization = torch.serialization
    opener = getattr(serialization, '_open_zipfile_reader', None)
    test = getattr(serialization, '_is_torchscript_zip', None)
    if opener is None or test is None:
        return None
    position = opened_file.tell()
    try:
        with opener(opened_file) as reader:
            return bool(test(reader))
    except RuntimeError:  # torch cannot read it as a zip archive at all
        return None
    finally:
        opened_file.seek(position)


def global_module_hooks_present() -> bool:
    """Whether any forward (pre-)hook is registered for every module
    (``torch.nn.modules.module.register_module_forward_hook``)."""
    from torch.nn.modules import module as module_hooks
    return bool(getattr(module_hooks, '_global_forward_hooks', None)
                or getattr(module_hooks, '_global_forward_pre_hooks', None))


def module_hooked(module: nn.Module) -> bool:
    """Whether ``module`` has forward (pre-)hooks of its own."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


def registry_children(registry) -> Dict[str, object]:
    """The child registries (one per codebase scope) of an mmengine registry."""
    return dict(getattr(registry, '_children', {}))


def walk_registry_children(registry) -> Iterator[object]:
    """Every descendant of ``registry``, depth first."""
    for child in registry_children(registry).values():
        yield child
        yield from walk_registry_children(child)
