"""mmattn's commands. Each lives in a module here with a ``main(argv=None)``;
``tools/**/*.py`` and the ``mmattn-*`` console scripts only call it.

``command.py`` holds what every command shares (the parser, ``--cfg-options``,
one-line errors printed once per launch); ``distributed.py`` sets up
processes with or without CUDA; ``detector_loading.py`` builds a detector and
fills it from a checkpoint for the analysis and deployment tools. What a run
is checked for before anything is built is ``mmattn.preflight``; the runner is
built by ``mmattn.engine.build_runner``.

A command imports mmattn's own modules inside ``run``, not at the top of its
file: importing ``mmattn`` registers every model (torch, mmcv, mmdet), and
``--help`` and a mistyped argument are answered without that.
"""
