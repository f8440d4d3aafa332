# UPerNet on EPSANet-50, ADE20K, 512x512, 160k iterations (MMSegmentation's
# recipe for UPerNet R-50: 4 GPUs x 4 images, SGD 0.01, poly schedule, SyncBN).
# Backbone weights: the EPSANet ImageNet run (configs/epsanet/imagenet/).
# bash tools/dist_train.sh configs/epsanet/ade20k/upernet_epsa50_4xb4-160k_ade20k-512x512.py 4
# (or mmseg's own tools/train.py)
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    pretrained=None,  # the stock config's ResNet weights; ours come from init_cfg
    backbone=dict(
        _delete_=True,
        type='EPSANet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/epsanet50_imagenet.pth',
                      prefix='backbone.')))
