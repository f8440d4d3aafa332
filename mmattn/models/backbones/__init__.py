"""Backbones: EPSANet and VoVNetV2-eSE."""
from .epsanet import EPSABottleneck, EPSANet
from .vovnet import OSABlock, VoVNet

__all__ = ["EPSABottleneck", "EPSANet", "OSABlock", "VoVNet"]
