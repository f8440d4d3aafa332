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


# The /proc/cpuinfo flags that decide which kernels run: vector width, and the
# int8 (VNNI) and bf16 units that INT8 and bf16 inference use.
ISA_FLAGS = ('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_bf16', 'amx_int8')


def isa_flags() -> str:
    """Which of ``ISA_FLAGS`` the CPU has (Linux), e.g. 'avx2 avx512f avx512_vnni'."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('flags'):
                    have = set(line.split(':', 1)[1].split())
                    return ' '.join(flag for flag in ISA_FLAGS if flag in have) or 'none of ' \
                        + '/'.join(ISA_FLAGS)
    except OSError:
        pass
    return 'unknown'


def machine_line() -> str:
    """What a timing ran on: CPU model, the ISA torch dispatches to, threads,
    torch version (and the GPU when CUDA is present)."""
    line = (f'{cpu_model()} (ISA: {isa_flags()}), torch CPU capability '
            f'{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads, '
            f'torch {torch.__version__}')
    if torch.cuda.is_available():
        line += f', GPU {torch.cuda.get_device_name()}'
    return line
