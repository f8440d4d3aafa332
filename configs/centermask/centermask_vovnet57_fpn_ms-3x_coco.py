# CenterMask, VoVNetV2-57-eSE + FPN, COCO 2017, multi-scale 3x (official
# centermask_V_57_eSE_FPN_ms_3x.yaml). Weights: vovnet57_ese_detectron2.pth converted
# as in centermask_vovnet39_fpn_ms-3x_coco.py.
_base_ = './centermask_vovnet39_fpn_ms-3x_coco.py'
model = dict(backbone=dict(
    arch='V-57-eSE', init_cfg=dict(checkpoint='checkpoints/vovnet57_ese_mmattn.pth')))
