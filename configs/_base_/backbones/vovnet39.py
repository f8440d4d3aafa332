# VoVNetV2-39-eSE as the detection configs use it: official CenterMask ImageNet
# weights converted with tools/model_converters/vovnet_detectron2_to_mmattn.py,
# frozen BN as in the official configs. Those weights expect detectron2's input
# format, BGR with std 1, hence `vovnet_data_preprocessor`.
vovnet39_backbone = dict(
    _delete_=True,
    type='VoVNet',
    arch='V-39-eSE',
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=dict(type='FrozenBN'),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vovnet39_ese_mmattn.pth'))
vovnet_data_preprocessor = dict(
    mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
vovnet39_out_channels = [256, 512, 768, 1024]
