"""Pictures of what the attention blocks attend to (tools/analysis_tools/vis_attention.py)."""
from .attention_pictures import map_on_image, write_attention_pictures
from .attention_recorder import AttentionRecord, AttentionRecorder, backbone_stage_names

__all__ = ['AttentionRecord', 'AttentionRecorder', 'backbone_stage_names', 'map_on_image',
           'write_attention_pictures']
