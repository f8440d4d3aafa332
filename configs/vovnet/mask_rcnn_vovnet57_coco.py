# Mask R-CNN, VoVNetV2-57-eSE + FPN, COCO 2017, 1x. Weights and input format: see
# mask_rcnn_vovnet39_coco.py.
_base_ = './mask_rcnn_vovnet39_coco.py'
pretrained = 'checkpoints/vovnet57_ese_mmattn.pth'
model = dict(backbone=dict(arch='V-57-eSE', init_cfg=dict(checkpoint=pretrained)))
