"""What the analysis tools compute (tools/analysis_tools/): side-by-side
speed and memory (``benchmark``), parameters and FLOPs (``complexity``),
autocast checks on a device (``device_check``). Imported on demand."""
