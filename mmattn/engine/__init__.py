"""Training-time helpers registered in mmengine/mmdet registries."""
