# EPSANet-50 (small) as the detection configs use it: ImageNet-pretrained, stage 1 frozen,
# BN statistics frozen. `_delete_` drops the ResNet backbone of mmdet's bases.
# No official weights exist: pre-train with configs/epsanet/imagenet/ (see its README).
# `checkpoint` may be that run's checkpoint (keys under `backbone.`), a backbone-only
# file (tools/model_converters/mmpretrain_to_mmattn.py) or an official main.py one.
epsanet50_backbone = dict(
    _delete_=True,
    type='EPSANet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    style='pytorch',
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='checkpoints/epsanet50_imagenet.pth'))
