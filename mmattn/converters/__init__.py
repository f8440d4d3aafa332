"""Checkpoint conversion from the official implementations' formats
(tools/model_converters/): VoVNet (detectron2, timm) and CenterMask
(centermask2). Imported on demand."""
