# A few minutes of the EPSANet-50 ImageNet recipe on CPU, on the synthetic texture set
# (python tools/misc/make_synthetic_imagenet.py data/synthetic_imagenet): same model,
# loss, optimizer and augmentation kinds, at 64 px, 6 classes, a short schedule.
# Deviations for a from-scratch start on 600 images in 12 epochs: the last BN of each
# block starts at zero (without it the loss does not come down in this budget), a warm-up,
# and lr 0.02 for batch 32.
#   bash tools/run_pretrain_demo.sh
_base_ = '../epsanet/imagenet/epsanet50_8xb32_in1k.py'
data_root = 'data/synthetic_imagenet'
num_classes = 6
crop = 64

data_preprocessor = dict(num_classes=num_classes)
model = dict(backbone=dict(zero_init_residual=True),
             head=dict(num_classes=num_classes, topk=(1, )))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=crop * 8 // 7, edge='short'),
    dict(type='CenterCrop', crop_size=crop),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=32, num_workers=0,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, num_workers=0,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
default_hooks = dict(logger=dict(type='LoggerHook', interval=5),
                     checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1,
                                     save_best=None))
randomness = dict(seed=0)
