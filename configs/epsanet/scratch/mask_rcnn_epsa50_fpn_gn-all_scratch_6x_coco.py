# Mask R-CNN, EPSANet-50 (small) + FPN, trained from scratch on COCO 2017: no ImageNet weights.
# MMDetection's from-scratch recipe (configs/scratch/mask-rcnn_r50-scratch_fpn_gn-all_6x_coco.py,
# after He, Girshick, Dollar, "Rethinking ImageNet Pre-training", ICCV 2019): GroupNorm in the
# backbone, FPN and heads (4conv1fc box head), every stage trained, no weight decay on norms,
# 6x schedule (73 epochs, lr x0.1 at 65 and 71, 500-iteration warm-up), 8 GPUs x 2 images.
# bash tools/dist_train.sh configs/epsanet/scratch/mask_rcnn_epsa50_fpn_gn-all_scratch_6x_coco.py
# 8
_base_ = 'mmdet::scratch/mask-rcnn_r50-scratch_fpn_gn-all_6x_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='EPSANet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        zero_init_residual=False,
        style='pytorch',
        init_cfg=None))
