# CenterMask-Lite, VoVNetV2-19-eSE + FPN, COCO 2017, multi-scale 4x (official
# centermask_lite_V_19_eSE_FPN_ms_4x.yaml). Weights: vovnet19_ese_detectron2.pth
# converted as in centermask_vovnet39_fpn_ms-3x_coco.py.
_base_ = './centermask-lite_vovnet39_fpn_4x_coco.py'
model = dict(backbone=dict(
    arch='V-19-eSE', init_cfg=dict(checkpoint='checkpoints/vovnet19_ese_mmattn.pth')))
