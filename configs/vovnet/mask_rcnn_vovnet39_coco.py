# Mask R-CNN, VoVNetV2-39-eSE + FPN, COCO 2017, 1x (8 GPUs x 2 images).
# Weights: the official CenterMask ImageNet weights, converted with
#   python tools/model_converters/vovnet_detectron2_to_mmattn.py vovnet39_ese_detectron2.pth checkpoints/vovnet39_ese_mmattn.pth
# They were trained on BGR input with std 1 (detectron2's default), hence the
# data_preprocessor below, and are used with frozen BN as in the official configs.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
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
