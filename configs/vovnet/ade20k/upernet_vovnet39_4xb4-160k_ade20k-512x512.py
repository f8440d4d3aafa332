# UPerNet on VoVNetV2-39-eSE, ADE20K, 512x512, 160k iterations (MMSegmentation's
# recipe for UPerNet R-50: 4 GPUs x 4 images, SGD 0.01, poly schedule, SyncBN).
# Backbone weights: the official ImageNet weights, converted with
#   python tools/model_converters/vovnet_detectron2_to_mmattn.py vovnet39_ese_detectron2.pth \
#       checkpoints/vovnet39_ese_mmattn.pth
# (VoVNet's official input: BGR, std 1.)
# bash tools/dist_train.sh configs/vovnet/ade20k/upernet_vovnet39_4xb4-160k_ade20k-512x512.py 4
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
data_preprocessor = dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
model = dict(
    pretrained=None,  # the stock config's ResNet weights; ours come from init_cfg
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='VoVNet',
        arch='V-39-eSE',
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vovnet39_ese_mmattn.pth')),
    decode_head=dict(in_channels=[256, 512, 768, 1024]),
    auxiliary_head=dict(in_channels=768))
