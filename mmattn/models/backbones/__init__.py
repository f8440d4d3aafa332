"""Backbones: EPSANet and VoVNetV2-eSE."""
