"""What a timing ran on, printed with every figure: the CPU model, the ISA
torch dispatches to, threads, versions."""
import platform

import torch


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform``)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """What a timing ran on: CPU model, the ISA torch dispatches to, threads,
    torch version (and the GPU when CUDA is present)."""
    line = (f'{cpu_model()}, torch CPU capability {torch.backends.cpu.get_cpu_capability()}, '
            f'{torch.get_num_threads()} threads, torch {torch.__version__}')
    if torch.cuda.is_available():
        line += f', GPU {torch.cuda.get_device_name()}'
    return line
