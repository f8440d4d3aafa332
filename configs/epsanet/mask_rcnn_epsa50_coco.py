# Mask R-CNN, EPSANet-50 (small) + FPN, COCO 2017, 1x (8 GPUs x 2 images), as in the paper.
# No official ImageNet weights exist for EPSANet: put your own checkpoint (an
# official main.py checkpoint loads as is) at `pretrained`, or set another path
# with --cfg-options model.backbone.init_cfg.checkpoint=PATH, or train from
# scratch with --cfg-options model.backbone.init_cfg=None model.backbone.frozen_stages=-1 model.backbone.norm_eval=False
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
pretrained = 'checkpoints/epsanet50_imagenet.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='EPSANet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
