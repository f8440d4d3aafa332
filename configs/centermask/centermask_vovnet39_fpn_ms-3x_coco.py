# CenterMask, VoVNetV2-39-eSE + FPN (P3-P7), COCO 2017, multi-scale 3x: the
# official centermask2 recipe (configs/centermask/centermask_V_39_eSE_FPN_ms_3x.yaml):
# 8 GPUs x 2 images (batch 16), SGD lr 0.01, 270k iterations with steps at 210k
# and 250k, short side 640..800 (max 1333), test 800/1333.
# Backbone weights: the official ImageNet weights, converted with
#   python tools/model_converters/vovnet_detectron2_to_mmattn.py vovnet39_ese_detectron2.pth \
#       checkpoints/vovnet39_ese_mmattn.pth
# (BGR input with std 1 and frozen BN, as the official configs).
_base_ = [
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)

num_classes = 80
fpn_channels = 256
model = dict(
    type='CenterMask',
    data_preprocessor=dict(
        type='DetDataPreprocessor', pad_size_divisor=32, pad_mask=True,
        mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(
        type='VoVNet',
        arch='V-39-eSE',
        out_indices=(1, 2, 3),  # stages 3-5
        frozen_stages=-1,
        norm_cfg=dict(type='FrozenBN'),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vovnet39_ese_mmattn.pth')),
    neck=dict(
        type='FPN',
        in_channels=[512, 768, 1024],
        out_channels=fpn_channels,
        start_level=0,
        add_extra_convs='on_output',  # P6 from P5's output, P7 from ReLU(P6)
        relu_before_extra_convs=True,
        num_outs=5),
    bbox_head=dict(
        type='CenterMaskFCOSHead',
        num_classes=num_classes,
        in_channels=fpn_channels,
        feat_channels=fpn_channels,
        stacked_convs=4,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        conv_bias=True,
        centerness_on_reg=True,
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        dcn_on_last_conv=False,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    roi_head=dict(
        type='CenterMaskRoIHead',
        mask_roi_extractor=dict(
            type='AreaRatioRoIExtractor',  # Eq. 2: level from RoI / image area
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0, aligned=True),
            out_channels=fpn_channels,
            featmap_strides=[8, 16, 32]),
        mask_head=dict(
            type='SAGMaskHead',
            num_convs=4,
            in_channels=fpn_channels,
            conv_out_channels=256,
            num_classes=num_classes,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0)),
        mask_iou_head=dict(
            type='CenterMaskIoUHead',
            num_convs=4,
            num_fcs=2,
            roi_feat_size=14,
            in_channels=fpn_channels,
            conv_out_channels=256,
            fc_out_channels=1024,
            num_classes=num_classes,
            loss_iou=dict(type='MSELoss', loss_weight=0.5))),  # 0.5 * mean squared error
    train_cfg=dict(
        bbox=None,
        proposal=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
        mask=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            mask_size=28,
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        bbox=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50),
        mask=dict(mask_thr_binary=0.5)))

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, s) for s in (640, 672, 704, 736, 768, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 270000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[210000, 250000], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.))  # detectron2: no weight decay on norms
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
