# EPSANet-50 (small) on ImageNet-1k with the official recipe (murufeng/EPSANet: main.py):
# SGD lr 0.1, momentum 0.9, wd 1e-4, batch 256 (8 GPUs x 32), 120 epochs, lr x0.1 at 30/60/90,
# label smoothing 0.1, RandomResizedCrop 224 + flip / resize 256 + center crop 224.
#   bash tools/dist_train.sh configs/epsanet/imagenet/epsanet50_8xb32_in1k.py 8
# Needs the optional extra: pip install -e ".[pretrain]" (mmpretrain 1.2).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmattn.pretrain'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='EPSANet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        # The official model does not zero-init the last BN of each block, and
        # draws every conv from Kaiming normal (fan_out), as mmdet's ResNet does.
        zero_init_residual=False,
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        # official CrossEntropyLabelSmooth: targets (1 - 0.1) * onehot + 0.1 / K
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original',
                  loss_weight=1.0),
        topk=(1, 5),
        init_cfg=None))  # PyTorch's default Linear init, as the official fc

# ImageNet in mmpretrain's standard layout (data/imagenet/{train,val,meta}); move it with
# --cfg-options train_dataloader.dataset.data_root=... val_dataloader.dataset.data_root=...
train_dataloader = dict(batch_size=32, dataset=dict(data_root='data/imagenet'))
val_dataloader = dict(batch_size=32, dataset=dict(data_root='data/imagenet'))
test_dataloader = val_dataloader

train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256)  # 8 GPUs x 32 images
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                                     save_best='auto'))
