"""The official state-dict layouts the converter tests check against, written
from the official code (youngwanLEE/vovnet-detectron2, centermask2), not read
from mmattn: shared by ``test_vovnet_converters.py``, ``test_vovnet.py``,
``test_centermask.py`` and ``test_file_safety.py``."""


# The seven specs as the official code writes them (youngwanLEE/vovnet-detectron2:
# vovnet/vovnet.py): stem, stage conv channels, stage output channels, layers per
# block, blocks per stage, depthwise. Written here, not read from mmattn.
OFFICIAL_SPECS = {
    'V-19-slim-dw-eSE': ((64, 64, 64), (64, 80, 96, 112), (112, 256, 384, 512),
                         3, (1, 1, 1, 1), True),
    'V-19-dw-eSE': ((64, 64, 64), (128, 160, 192, 224), (256, 512, 768, 1024),
                    3, (1, 1, 1, 1), True),
    'V-19-slim-eSE': ((64, 64, 128), (64, 80, 96, 112), (112, 256, 384, 512),
                      3, (1, 1, 1, 1), False),
    'V-19-eSE': ((64, 64, 128), (128, 160, 192, 224), (256, 512, 768, 1024),
                 3, (1, 1, 1, 1), False),
    'V-39-eSE': ((64, 64, 128), (128, 160, 192, 224), (256, 512, 768, 1024),
                 5, (1, 1, 2, 2), False),
    'V-57-eSE': ((64, 64, 128), (128, 160, 192, 224), (256, 512, 768, 1024),
                 5, (1, 1, 4, 3), False),
    'V-99-eSE': ((64, 64, 128), (128, 160, 192, 224), (256, 512, 768, 1024),
                 5, (1, 3, 9, 3), False),
}


def official_shapes(arch, ese_position='every'):
    """Key -> shape of the official backbone's state dict (detectron2 FrozenBN:
    weight, bias, running_mean, running_var), from the official module layout:
    ``{name}_{i}/conv`` + ``/norm`` (conv3x3/conv1x1), ``/dw_conv3x3`` +
    ``/pw_conv1x1`` + ``/pw_norm`` (dw_conv3x3), ``conv_reduction`` before a
    depthwise block whose input width differs, ``concat``, and ``ese.fc``."""
    stem, conv_ch, out_ch, num_layers, blocks, depthwise = OFFICIAL_SPECS[arch]
    shapes = {}

    def norm(prefix, channels):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}.{name}'] = (channels, )

    def conv_norm(prefix, cin, cout, k):
        shapes[f'{prefix}/conv.weight'] = (cout, cin, k, k)
        norm(f'{prefix}/norm', cout)

    def dw_pw_norm(prefix, cin, cout):
        shapes[f'{prefix}/dw_conv3x3.weight'] = (cout, 1, 3, 3)
        shapes[f'{prefix}/pw_conv1x1.weight'] = (cout, cin, 1, 1)
        norm(f'{prefix}/pw_norm', cout)

    conv_norm('stem.stem_1', 3, stem[0], 3)
    for i in (2, 3):
        (dw_pw_norm if depthwise else
         lambda p, a, b: conv_norm(p, a, b, 3))(f'stem.stem_{i}', stem[i - 2], stem[i - 1])
    in_ch = stem[2]
    for s in range(4):
        for b in range(1, blocks[s] + 1):
            name = f'OSA{s + 2}_{b}'
            prefix = f'stage{s + 2}.{name}'
            block_in = in_ch if b == 1 else out_ch[s]
            layer_in = block_in
            if depthwise and block_in != conv_ch[s]:
                conv_norm(f'{prefix}.conv_reduction.{name}_reduction_0', block_in, conv_ch[s], 1)
                layer_in = conv_ch[s]
            for i in range(num_layers):
                if depthwise:
                    dw_pw_norm(f'{prefix}.layers.{i}.{name}_{i}', conv_ch[s], conv_ch[s])
                else:
                    conv_norm(f'{prefix}.layers.{i}.{name}_{i}', layer_in, conv_ch[s], 3)
                layer_in = conv_ch[s]
            conv_norm(f'{prefix}.concat.{name}_concat', block_in + num_layers * conv_ch[s],
                      out_ch[s], 1)
            if ese_position == 'every' or b == blocks[s]:
                shapes[f'{prefix}.ese.fc.weight'] = (out_ch[s], out_ch[s], 1, 1)
                shapes[f'{prefix}.ese.fc.bias'] = (out_ch[s], )
        in_ch = out_ch[s]
    return shapes


def official_centermask2_shapes(arch, lite):
    """Key -> shape of an official centermask2 CenterMask(-Lite) state dict,
    written from the official modules (detectron2 FPN ``fpn_lateral{s}`` /
    ``fpn_output{s}``, ``top_block.p6/p7``; AdelaiDet FCOS towers
    ``[conv, GroupNorm, ReLU]``, ``cls_logits``, ``bbox_pred``, ``ctrness``,
    ``scales``; ``mask_fcn{k}``, ``spatialAtt``, ``deconv``, ``predictor``;
    ``maskiou_fcn{k}``, ``maskiou_fc1/2``, ``maskiou``), not from mmattn."""
    fpn, dim, convs = (128, 128, 2) if lite else (256, 256, 4)
    shapes = {f'backbone.bottom_up.{k}': v for k, v in official_shapes(arch).items()}
    out_ch = OFFICIAL_SPECS[arch][2]

    def conv(name, cout, cin, k):
        shapes[f'{name}.weight'] = (cout, cin, k, k)
        shapes[f'{name}.bias'] = (cout,)

    for s, cin in zip((3, 4, 5), out_ch[1:]):
        conv(f'backbone.fpn_lateral{s}', fpn, cin, 1)
        conv(f'backbone.fpn_output{s}', fpn, fpn, 3)
    conv('backbone.top_block.p6', fpn, fpn, 3)
    conv('backbone.top_block.p7', fpn, fpn, 3)
    head = 'proposal_generator.fcos_head'
    for tower in ('cls_tower', 'bbox_tower'):
        for i in range(convs):
            conv(f'{head}.{tower}.{3 * i}', fpn, fpn, 3)
            shapes[f'{head}.{tower}.{3 * i + 1}.weight'] = (fpn,)
            shapes[f'{head}.{tower}.{3 * i + 1}.bias'] = (fpn,)
    conv(f'{head}.cls_logits', 80, fpn, 3)
    conv(f'{head}.bbox_pred', 4, fpn, 3)
    conv(f'{head}.ctrness', 1, fpn, 3)
    for i in range(5):
        shapes[f'{head}.scales.{i}.scale'] = (1,)
    for k in range(1, convs + 1):
        conv(f'roi_heads.mask_head.mask_fcn{k}', dim, fpn if k == 1 else dim, 3)
        conv(f'roi_heads.maskiou_head.maskiou_fcn{k}', dim, fpn + 1 if k == 1 else dim, 3)
    shapes['roi_heads.mask_head.spatialAtt.conv.weight'] = (1, 2, 3, 3)
    shapes['roi_heads.mask_head.deconv.weight'] = (dim, dim, 2, 2)  # ConvTranspose2d: in, out
    shapes['roi_heads.mask_head.deconv.bias'] = (dim,)
    conv('roi_heads.mask_head.predictor', 80, dim, 1)
    for name, (cout, cin) in {'maskiou_fc1': (1024, dim * 7 * 7), 'maskiou_fc2': (1024, 1024),
                              'maskiou': (80, 1024)}.items():
        shapes[f'roi_heads.maskiou_head.{name}.weight'] = (cout, cin)
        shapes[f'roi_heads.maskiou_head.{name}.bias'] = (cout,)
    shapes['pixel_mean'] = shapes['pixel_std'] = (3, 1, 1)
    return shapes
