# Faster R-CNN, EPSANet-50 (small) + FPN, COCO 2017, 1x. Weights: see mask_rcnn_epsa50_coco.py.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
pretrained = 'checkpoints/epsanet50_imagenet.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='EPSANet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
