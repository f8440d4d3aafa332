# Mask R-CNN, EPSANet-50 (small) + FPN, COCO 2017, 1x (8 GPUs x 2 images), as in the paper.
# No official ImageNet weights exist for EPSANet: pre-train them with
# configs/epsanet/imagenet/epsanet50_8xb32_in1k.py and pass the checkpoint with
# --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/epsanet50_8xb32_in1k/epoch_120.pth
# (or put a backbone-only file at checkpoints/epsanet50_imagenet.pth; an official main.py
# checkpoint loads too), or train from scratch: configs/epsanet/scratch/.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/backbones/epsanet50.py']
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(backbone={{_base_.epsanet50_backbone}})
