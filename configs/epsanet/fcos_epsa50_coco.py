# FCOS (GN head), EPSANet-50 (small) + FPN, COCO 2017, 1x. Weights: see mask_rcnn_epsa50_coco.py.
# mmdet's FCOS base feeds a caffe-style ResNet; EPSANet is a PyTorch-style
# network trained on RGB with ImageNet mean/std, so the preprocessor is reset too.
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/backbones/epsanet50.py']
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone={{_base_.epsanet50_backbone}})
