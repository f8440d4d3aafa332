"""The private upstream APIs mmattn relies on (mmattn/utils/compat.py) still
exist and behave as mmattn expects: this fails when torch or mmengine changes
one of them."""
import io

import torch
import torch.nn as nn

from mmattn.utils import compat


def test_torch_sees_a_torchscript_archive_and_not_a_checkpoint(tmp_path):
    torch.jit.script(nn.Linear(2, 2)).save(str(tmp_path / 'ts.pt'))
    torch.save({'w': torch.ones(1)}, tmp_path / 'ckpt.pth')
    with open(tmp_path / 'ts.pt', 'rb') as f:
        assert compat.torch_sees_torchscript(f) is True and f.tell() == 0
    with open(tmp_path / 'ckpt.pth', 'rb') as f:
        assert compat.torch_sees_torchscript(f) is False
    assert compat.torch_sees_torchscript(io.BytesIO(b'not a zip')) is None


def test_tensor_rebuilders_are_what_torch_pickles_name(tmp_path):
    import pickletools
    import zipfile
    torch.save({'p': nn.Parameter(torch.ones(2)), 't': torch.zeros(3)}, tmp_path / 'x.pth')
    with zipfile.ZipFile(tmp_path / 'x.pth') as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith('data.pkl')))
    globals_named = set()
    for op, arg, _ in pickletools.genops(data):
        if op.name in ('GLOBAL', 'STACK_GLOBAL') and isinstance(arg, str):
            globals_named.add(arg.replace(' ', '.'))
    named = {g.split('.')[-1] for g in globals_named if g.startswith('torch._utils')}
    rebuilders = compat.torch_tensor_rebuilders()
    assert named and named <= set(rebuilders), (named, globals_named)


def test_coco_instances_is_mmdets_filter():
    """mmdet's CocoDataset.parse_data_info, as the pre-flight calls it:
    ignored, off-image, zero-area and sub-pixel boxes are skipped, crowds kept
    with ignore_flag 1, polygons passed on."""
    image = {'id': 7, 'file_name': 'a.jpg', 'width': 100, 'height': 80}
    polygon = [[0, 0, 1, 1, 2, 0]]
    anns = [dict(id=1, bbox=[10, 10, 20, 20], area=400, category_id=3, segmentation=polygon),
            dict(id=2, bbox=[10, 10, 20, 20], area=400, category_id=3, iscrowd=1),
            dict(id=3, bbox=[10, 10, 20, 20], area=400, category_id=3, ignore=1),
            dict(id=4, bbox=[200, 10, 20, 20], area=400, category_id=3),
            dict(id=5, bbox=[10, 10, 0.5, 20], area=10, category_id=3),
            dict(id=6, bbox=[10, 10, 20, 20], area=0, category_id=3)]
    instances = compat.coco_instances(image, anns, [3])
    assert [(i['bbox'], i['ignore_flag']) for i in instances] == [
        ([10, 10, 30, 30], 0), ([10, 10, 30, 30], 1)]
    assert instances[0]['mask'] == polygon and instances[0]['bbox_label'] == 0


def test_rename_children_keeps_order_and_modules():
    seq = nn.Sequential()
    seq.add_module('a/b', nn.ReLU())
    seq.add_module('c', nn.Identity())
    children = list(seq.children())
    compat.rename_children(seq, lambda n: n.replace('/', '__'))
    assert [n for n, _ in seq.named_children()] == ['a__b', 'c']
    assert list(seq.children()) == children


def test_onnx_opset_range():
    low, high = compat.onnx_opset_range()
    assert low <= 11 and high >= 17


def test_registry_children_and_mmengine_compile():
    from mmengine.registry import MODELS
    from mmengine.runner import Runner

    import mmattn  # noqa: F401
    scopes = {child.scope for child in compat.walk_registry_children(MODELS)}
    assert {'mmdet', 'mmattn'} <= scopes
    assert callable(getattr(Runner, '_maybe_compile', None))


def test_overridden_mmdet_private_method_exists():
    import inspect

    from mmdet.models.dense_heads import FCOSHead
    params = inspect.signature(FCOSHead._bbox_post_process).parameters
    assert {'results', 'cfg', 'rescale', 'with_nms', 'img_meta'} <= set(params)
