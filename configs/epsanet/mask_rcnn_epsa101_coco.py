# Mask R-CNN, EPSANet-101 (small) + FPN, COCO 2017, 1x. Weights: see mask_rcnn_epsa50_coco.py.
_base_ = './mask_rcnn_epsa50_coco.py'
model = dict(backbone=dict(
    depth=101, init_cfg=dict(checkpoint='checkpoints/epsanet101_imagenet.pth')))
