"""Every config under configs/ parses, builds, and takes one training step
(backward included) on tiny synthetic inputs."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALL_CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                     if '_base_' not in p)
# ImageNet classification configs (mmpretrain) are tested in test_pretrain.py and
# test_attention_anywhere.py, the ADE20K ones (mmseg) in test_attention_anywhere.py
CLASSIFICATION_CONFIGS = [p for p in ALL_CONFIGS if 'imagenet' in osp.relpath(p, REPO)]
SEGMENTATION_CONFIGS = [p for p in ALL_CONFIGS if 'ade20k' in osp.relpath(p, REPO)]
CONFIGS = [p for p in ALL_CONFIGS if p not in CLASSIFICATION_CONFIGS + SEGMENTATION_CONFIGS]


def _rel(path):
    return osp.relpath(path, REPO)


def test_configs_were_found():
    assert len(CONFIGS) >= 30  # 13 attention + 6 EPSANet + 10 VoVNet + 1 demo
    assert len(CLASSIFICATION_CONFIGS) >= 3  # EPSANet-50/101 ImageNet + 1 demo
    for required in ('configs/epsanet/mask_rcnn_epsa50_coco.py',
                     'configs/vovnet/mask_rcnn_vovnet39_ms-3x_coco.py',
                     'configs/attention/mask_rcnn_r50_cbam_coco.py',
                     'configs/epsanet/scratch/mask_rcnn_epsa50_fpn_gn-all_scratch_6x_coco.py'):
        assert osp.join(REPO, required) in CONFIGS


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_config_builds_and_trains_one_step(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['mmattn'], allow_failed_imports=False)
    cfg.model.backbone.init_cfg = None  # no weights here; never download
    # YOLOX's multi-scale batch resize reads the runner's iteration, which a bare step lacks
    cfg.model.data_preprocessor.pop('batch_augments', None)
    model = MODELS.build(cfg.model)
    model.init_weights()  # every component's own initialisation runs
    model.train()
    head = cfg.model.get('roi_head', {}).get('bbox_head') or cfg.model.get('bbox_head')
    num_classes = head['num_classes']
    with_mask = 'mask_head' in cfg.model.get('roi_head', {})
    torch.manual_seed(0)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 128)] * 2, num_items=[3, 2],
                            num_classes=num_classes, with_mask=with_mask)
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads)


ATTENTION_EXPECTED = {
    'se': ('SqueezeExcitation', 'after_conv3', (False, True, True, True)),
    'cbam': ('CBAM', 'after_conv3', (False, True, True, True)),
    'mbconv_se': ('MBConvSqueezeExcitation', 'after_conv2', (False, True, True, True)),
    'nonlocal': ('NonLocalAttention', 'after_conv3', (False, False, True, False)),
    'danet': ('DualAttention', 'after_conv3', (False, False, False, True)),
}


@pytest.mark.parametrize('name', sorted(ATTENTION_EXPECTED))
def test_attention_configs_place_the_block(name):
    cls_name, position, stages = ATTENTION_EXPECTED[name]
    cfg = Config.fromfile(osp.join(REPO, f'configs/attention/mask_rcnn_r50_{name}_coco.py'))
    backbone = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    hits = {n.split('.')[0] for n, m in backbone.named_modules() if type(m).__name__ == cls_name}
    assert hits == {f'layer{i + 1}' for i, s in enumerate(stages) if s}
    block = getattr(backbone, f'layer{stages.index(True) + 1}')[0]
    for pos in ('after_conv1', 'after_conv2', 'after_conv3'):
        assert bool(getattr(block, f'{pos}_plugin_names')) == (pos == position)


def test_every_registered_mmattn_backbone_gives_advice_for_missing_weights():
    """The pre-flight asks the backbone what to do when its weights are
    missing; a backbone that does not say would leave the user with nothing."""
    from mmdet.registry import MODELS

    from mmattn.models.backbones.pretrained import PretrainedWeightsMixin
    backbones = {name: cls for name, cls in MODELS.module_dict.items()
                 if cls.__module__.startswith('mmattn.models.backbones')}
    assert {'EPSANet', 'VoVNet'} <= set(backbones)
    for name, cls in backbones.items():
        assert issubclass(cls, PretrainedWeightsMixin), name
        assert 'missing_weights_advice' in vars(cls), f'{name} gives no advice'
        advice = cls.missing_weights_advice('model.backbone', {'type': name})
        assert advice and all(isinstance(a, str) and a for a in advice), name
        assert any('model.backbone.init_cfg' in a for a in advice), name
