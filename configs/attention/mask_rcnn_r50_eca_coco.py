# Mask R-CNN R-50-FPN 1x COCO with EfficientChannelAttention (Wang et al.: after the last BN,
# before the add) at after_conv3 of stages (False, True, True, True).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(cfg=dict(type='EfficientChannelAttention'), stages=(
            False, True, True, True), position='after_conv3')
    ]))
