# CenterMask-Lite, VoVNetV2-39-eSE + FPN, COCO 2017, multi-scale 4x (official
# centermask_lite_V_39_eSE_FPN_ms_4x.yaml): 128-channel FPN and heads, 2 FCOS
# convs per branch, 2 mask convs, 2 MaskIoU convs; short side 580..600 (max
# 1000), test 600/1000; 360k iterations with steps at 300k and 340k.
_base_ = './centermask_vovnet39_fpn_ms-3x_coco.py'
lite_channels = 128
model = dict(
    neck=dict(out_channels=lite_channels),
    bbox_head=dict(in_channels=lite_channels, feat_channels=lite_channels, stacked_convs=2),
    roi_head=dict(
        mask_roi_extractor=dict(out_channels=lite_channels),
        mask_head=dict(num_convs=2, in_channels=lite_channels, conv_out_channels=lite_channels),
        mask_iou_head=dict(num_convs=2, in_channels=lite_channels,
                           conv_out_channels=lite_channels)))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(1000, 580), (1000, 600)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 360000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[300000, 340000], gamma=0.1),
]
