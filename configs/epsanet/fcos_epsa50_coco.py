# FCOS (GN head), EPSANet-50 (small) + FPN, COCO 2017, 1x. Weights: see mask_rcnn_epsa50_coco.py.
# mmdet's FCOS base feeds a caffe-style ResNet; EPSANet is a PyTorch-style
# network trained on RGB with ImageNet mean/std, so the preprocessor is reset too.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
pretrained = 'checkpoints/epsanet50_imagenet.pth'
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='EPSANet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
