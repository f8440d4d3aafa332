# RetinaNet, VoVNetV2-39-eSE + FPN, COCO 2017, 1x. Weights and input format: see
# mask_rcnn_vovnet39_coco.py.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', '../_base_/backbones/vovnet39.py']
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.vovnet_data_preprocessor}},
    backbone={{_base_.vovnet39_backbone}},
    neck=dict(in_channels={{_base_.vovnet39_out_channels}}))
