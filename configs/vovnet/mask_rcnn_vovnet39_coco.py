# Mask R-CNN, VoVNetV2-39-eSE + FPN, COCO 2017, 1x (8 GPUs x 2 images).
# Weights: the official CenterMask ImageNet weights, converted with
#   python tools/model_converters/vovnet_detectron2_to_mmattn.py vovnet39_ese_detectron2.pth \
#       checkpoints/vovnet39_ese_mmattn.pth
# They were trained on BGR input with std 1 (detectron2's default), hence the
# data_preprocessor, and are used with frozen BN as in the official configs.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/backbones/vovnet39.py']
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.vovnet_data_preprocessor}},
    backbone={{_base_.vovnet39_backbone}},
    neck=dict(in_channels={{_base_.vovnet39_out_channels}}))
