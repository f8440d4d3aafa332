# FCOS (GN head), VoVNetV2-39-eSE + FPN, COCO 2017, 1x. Weights and input format: see mask_rcnn_vovnet39_coco.py.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
pretrained = 'checkpoints/vovnet39_ese_mmattn.pth'
model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='VoVNet',
        arch='V-39-eSE',
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='FrozenBN'),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[256, 512, 768, 1024]))
