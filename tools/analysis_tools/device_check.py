"""Every block and backbone under float16/bfloat16 autocast on a device, against float32
(see mmattn/cli/device_check.py)."""
import sys

from mmattn.cli.device_check import main

if __name__ == '__main__':
    sys.exit(main())
