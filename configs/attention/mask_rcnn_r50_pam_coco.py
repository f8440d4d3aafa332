# Mask R-CNN R-50-FPN 1x COCO with DANetPositionAttention (DANet: on the last features; HW x HW
# memory) at after_conv3 of stages (False, False, False, True).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(cfg=dict(type='DANetPositionAttention'), stages=(
            False, False, False, True), position='after_conv3')
    ]))
