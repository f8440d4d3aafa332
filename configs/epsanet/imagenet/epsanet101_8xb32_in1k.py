# EPSANet-101 (small) on ImageNet-1k, same official recipe as EPSANet-50.
#   bash tools/dist_train.sh configs/epsanet/imagenet/epsanet101_8xb32_in1k.py 8
_base_ = './epsanet50_8xb32_in1k.py'
model = dict(backbone=dict(depth=101))
