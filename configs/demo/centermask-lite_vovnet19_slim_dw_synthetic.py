# CenterMask-Lite on VoVNetV2-19-slim-dw-eSE, trained from scratch on the
# synthetic shapes set (128 px) on CPU: the same backbone, data, FPN width,
# schedule and optimiser as the main job's Mask R-CNN
# (mask_rcnn_vovnet19_slim_dw_synthetic.py), so the two can be compared.
# bash tools/dist_train.sh configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py 2
_base_ = './mask_rcnn_vovnet19_slim_dw_synthetic.py'
num_classes = 4
channels = 64
model = dict(
    _delete_=True,
    type='CenterMask',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_size_divisor=32, pad_mask=True),
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
        type='CenterMaskFCOSHead', num_classes=num_classes, in_channels=channels,
        feat_channels=channels, stacked_convs=2, strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True), conv_bias=True,
        centerness_on_reg=True, center_sampling=True, center_sample_radius=1.5,
        norm_on_bbox=True, dcn_on_last_conv=False,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    roi_head=dict(
        type='CenterMaskRoIHead',
        mask_roi_extractor=dict(
            type='AreaRatioRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2, aligned=True),
            out_channels=channels, featmap_strides=[8, 16, 32]),
        mask_head=dict(type='SAGMaskHead', num_convs=2, in_channels=channels,
                       conv_out_channels=channels, num_classes=num_classes,
                       loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0)),
        mask_iou_head=dict(type='CenterMaskIoUHead', num_convs=2, num_fcs=2, roi_feat_size=14,
                           in_channels=channels, conv_out_channels=channels, fc_out_channels=256,
                           num_classes=num_classes,
                           loss_iou=dict(type='MSELoss', loss_weight=0.5))),
    train_cfg=dict(
        bbox=None,
        proposal=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
        mask=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            mask_size=28, pos_weight=-1, debug=False)),
    test_cfg=dict(
        bbox=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50),
        mask=dict(mask_thr_binary=0.5)))
