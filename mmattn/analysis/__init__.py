"""What the analysis tools compute (tools/analysis_tools/): side-by-side
speed and memory (``benchmark``), the one interleaved timer (``latency``),
the machine line printed with every figure (``machine``), parameters and
FLOPs (``complexity``), autocast checks on a device (``device_check``).
Imported on demand."""
