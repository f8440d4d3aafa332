# Mask R-CNN, VoVNetV2-57-eSE + FPN, COCO 2017, 3x multi-scale. See
# mask_rcnn_vovnet39_ms-3x_coco.py.
_base_ = './mask_rcnn_vovnet39_ms-3x_coco.py'
pretrained = 'checkpoints/vovnet57_ese_mmattn.pth'
model = dict(backbone=dict(arch='V-57-eSE', init_cfg=dict(checkpoint=pretrained)))
