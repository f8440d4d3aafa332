# RetinaNet R-50-FPN 1x (MMDetection's recipe, COCO 2017) with CBAM on every
# FPN output level (P3-P7), inserted by WithAttention: the FPN's own keys (and
# so its checkpoints) stay as they are, the blocks live in neck.attention_blocks.
# bash tools/dist_train.sh configs/attention/retinanet_r50_fpn-cbam_1x_coco.py 8
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    neck=dict(
        _delete_=True,
        type='WithAttention',
        module={{_base_.model.neck}},
        insert=[dict(outputs=True, block=dict(type='CBAM'))]))
