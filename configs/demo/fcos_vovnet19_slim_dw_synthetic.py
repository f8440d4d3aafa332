# FCOS on VoVNetV2-19-slim-dw-eSE, trained from scratch on the synthetic shapes
# set (128 px) on CPU: the main job's backbone, data, FPN width, schedule and
# optimiser (mask_rcnn_vovnet19_slim_dw_synthetic.py), box AP only.
# bash tools/dist_train.sh configs/demo/fcos_vovnet19_slim_dw_synthetic.py 2
_base_ = './mask_rcnn_vovnet19_slim_dw_synthetic.py'
num_classes = 4
channels = 64
model = dict(
    _delete_=True,
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(
        type='VoVNet',
        arch='V-19-slim-dw-eSE',
        out_indices=(1, 2, 3),
        frozen_stages=-1,  # no pretrained weights: train every layer
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(type='FPN', in_channels=[256, 384, 512], out_channels=channels, start_level=0,
              add_extra_convs='on_output', relu_before_extra_convs=True, num_outs=5),
    bbox_head=dict(
        type='FCOSHead', num_classes=num_classes, in_channels=channels, feat_channels=channels,
        stacked_convs=2, strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        center_sampling=True, center_sample_radius=1.5, norm_on_bbox=True,
        centerness_on_reg=True),
    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                 min_pos_iou=0, ignore_iof_thr=-1),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]))
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
