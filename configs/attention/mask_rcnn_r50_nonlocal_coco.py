# Mask R-CNN R-50-FPN 1x COCO with NonLocalAttention (Wang et al.: in res4 for Mask R-CNN) at
# after_conv3 of stages (False, False, True, False).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(cfg=dict(type='NonLocalAttention'), stages=(
            False, False, True, False), position='after_conv3')
    ]))
