# YOLOX-S (MMDetection's recipe: 8 GPUs x 8 images, 300 epochs, COCO 2017) with
# CBAM after each of CSPDarknet's four stages. mmdet's CSPDarknet takes no
# plugins; WithAttention inserts the blocks from the config, keeping every
# state-dict key of the stock backbone (its checkpoints load as they are).
# bash tools/dist_train.sh configs/attention/yolox_s_cbam_8xb8-300e_coco.py 8
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='WithAttention',
        module={{_base_.model.backbone}},
        insert=[dict(at='stage*', block=dict(type='CBAM'))]))
