"""The private parts of torch and mmengine that mmattn relies on, in one place.
Each either has a fallback or fails loudly; ``tests/test_compat.py`` fails
when an upstream release changes one of them.

Besides the functions here, two overrides of upstream private methods, which
``tests/test_compat.py`` also checks: ``SafeCheckpointRunner`` replaces
mmengine's ``Runner._maybe_compile`` (what mmengine calls before running a
step) and calls the original through ``mmengine_compile_step``;
``CenterMaskFCOSHead`` extends mmdet's ``FCOSHead._bbox_post_process``.
"""
from typing import BinaryIO, Callable, Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn


# ------------------------------------------------------------------- torch
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


def torch_tensor_rebuilders() -> Dict[str, Callable]:
    """The functions a pickled tensor or parameter names (``torch._utils``
    ``_rebuild_*``), which a data-only unpickler must allow."""
    names = ('_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3',
             '_rebuild_parameter', '_rebuild_parameter_with_state')
    return {name: getattr(torch._utils, name) for name in names if hasattr(torch._utils, name)}


def rename_children(module: nn.Module, rename: Callable[[str], str]) -> None:
    """Rename ``module``'s direct children in place, keeping their order."""
    module._modules = type(module._modules)(
        (rename(name), child) for name, child in module._modules.items())


def onnx_opset_range() -> Tuple[int, int]:
    """The opsets torch's TorchScript ONNX exporter writes (torch.onnx._constants)."""
    from torch.onnx import _constants
    return (getattr(_constants, 'ONNX_MIN_OPSET', 7),
            getattr(_constants, 'ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET',
                    getattr(_constants, 'ONNX_MAX_OPSET', 20)))


# ---------------------------------------------------------------- mmengine
def registry_children(registry) -> Dict[str, object]:
    """The child registries (one per codebase scope) of an mmengine registry."""
    return dict(getattr(registry, '_children', {}))


def walk_registry_children(registry) -> Iterator[object]:
    """Every descendant of ``registry``, depth first."""
    for child in registry_children(registry).values():
        yield child
        yield from walk_registry_children(child)


def coco_instances(image: dict, annotations: list, category_ids: list) -> list:
    """The instances mmdet's ``CocoDataset`` makes of one image's annotations
    (its ``parse_data_info``, run as is: skipped annotations are absent,
    crowd regions have ``ignore_flag`` 1); ``image`` is a COCO image record."""
    from types import SimpleNamespace

    from mmdet.datasets import CocoDataset
    dataset = SimpleNamespace(  # the attributes parse_data_info reads
        data_prefix={'img': ''}, seg_map_suffix='.png', return_classes=False, metainfo={},
        cat_ids=list(category_ids), cat2label={c: i for i, c in enumerate(category_ids)})
    raw = {'raw_img_info': dict(image, img_id=image['id']), 'raw_ann_info': annotations}
    return CocoDataset.parse_data_info(dataset, raw)['instances']


def mmengine_compile_step(runner, target: str) -> None:
    """mmengine's own ``Runner._maybe_compile(target)`` (``compile=True``)."""
    from mmengine.runner import Runner
    Runner._maybe_compile(runner, target)
