"""Draw a detector's attention maps on an image. See mmattn/cli/vis_attention.py.

    python tools/analysis_tools/vis_attention.py IMG CONFIG CHECKPOINT --out-dir DIR
"""
import sys

from mmattn.cli.vis_attention import main

if __name__ == '__main__':
    sys.exit(main())
