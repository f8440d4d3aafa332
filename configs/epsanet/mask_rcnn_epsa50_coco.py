# Mask R-CNN, EPSANet-50 (small) + FPN, COCO 2017, 1x (8 GPUs x 2 images), as in the paper.
# No official ImageNet weights exist for EPSANet: put your own checkpoint (an
# official main.py checkpoint loads as is) at checkpoints/epsanet50_imagenet.pth,
# or set another path with --cfg-options model.backbone.init_cfg.checkpoint=PATH, or train from
# scratch with --cfg-options model.backbone.init_cfg=None model.backbone.frozen_stages=-1 model.backbone.norm_eval=False
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/backbones/epsanet50.py']
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(backbone={{_base_.epsanet50_backbone}})
