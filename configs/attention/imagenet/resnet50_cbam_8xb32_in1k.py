# ResNet-50 with CBAM on ImageNet-1k (mmpretrain's recipe: 8 GPUs x 32 images,
# SGD 0.1, 100 epochs), CBAM where the paper puts it: in every bottleneck,
# after its last BN, before the residual add (mmpretrain's ResNet takes no
# plugins; WithAttention inserts the blocks at 'layer*.*.bn3').
# bash tools/dist_train.sh configs/attention/imagenet/resnet50_cbam_8xb32_in1k.py 8
# (or mmpretrain's own tools/train.py)
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='WithAttention',
        module={{_base_.model.backbone}},
        insert=[dict(at='layer*.*.bn3', block=dict(type='CBAM'))]))
