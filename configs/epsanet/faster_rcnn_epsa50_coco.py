# Faster R-CNN, EPSANet-50 (small) + FPN, COCO 2017, 1x. Weights: see mask_rcnn_epsa50_coco.py.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../_base_/backbones/epsanet50.py']
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(backbone={{_base_.epsanet50_backbone}})
