# A small attention model for pictures (docs/attention_maps.md): the main job's
# Mask R-CNN with a quarter-width ResNet-50 (base_channels=16) carrying CBAM
# after conv3 in stages 2-4 and a non-local block after conv3 in stage 3,
# trained from scratch on the synthetic shapes set on CPU.
# bash tools/dist_train.sh configs/demo/mask_rcnn_r50-thin_cbam_nonlocal_synthetic.py 2
_base_ = './mask_rcnn_vovnet19_slim_dw_synthetic.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        plugins=[
            dict(cfg=dict(type='CBAM'), stages=(False, True, True, True),
                 position='after_conv3'),
            dict(cfg=dict(type='NonLocalAttention'), stages=(False, False, True, False),
                 position='after_conv3'),
        ],
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
