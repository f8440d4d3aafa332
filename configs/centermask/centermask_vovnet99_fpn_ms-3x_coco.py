# CenterMask, VoVNetV2-99-eSE + FPN, COCO 2017, multi-scale 3x (official
# centermask_V_99_eSE_FPN_ms_3x.yaml). Weights: vovnet99_ese_detectron2.pth converted
# as in centermask_vovnet39_fpn_ms-3x_coco.py.
_base_ = './centermask_vovnet39_fpn_ms-3x_coco.py'
model = dict(backbone=dict(
    arch='V-99-eSE', init_cfg=dict(checkpoint='checkpoints/vovnet99_ese_mmattn.pth')))
