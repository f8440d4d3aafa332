"""RoI extractors: CenterMask's area-ratio level assignment."""
from .area_ratio_roi_extractor import AreaRatioRoIExtractor, area_ratio_levels

__all__ = ['AreaRatioRoIExtractor', 'area_ratio_levels']
