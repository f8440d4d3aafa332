"""What the analysis tools compute (tools/analysis_tools/), one concept per
module: which backbone to build (``backbone_specs``), the steps measured
(``steps``), backbone speed side by side (``backbone_timing``), detector
training iterations side by side (``detector_timing``), training memory
(``memory``), the one interleaved timer (``latency``), the machine line
printed with every figure (``machine``), parameters and FLOPs
(``complexity``), autocast checks on a device (``device_check``).
Imported on demand."""
