"""Packaging for mmattn.

Configs live in the top-level ``configs/`` folder and tools in ``tools/``;
``mmattn/.mim/configs`` and ``mmattn/.mim/tools`` are symbolic links to them,
so a built wheel carries both as package data: mmengine looks for ``mmattn::``
bases under ``.mim/configs`` and ``mim train mmattn`` runs ``.mim/tools/train.py``.
"""
import os.path as osp
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(HERE, 'mmattn', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


INSTALL_REQUIRES = [
    'torch>=2.1,<2.14',
    'mmengine>=0.10.4,<1.0',
    'mmcv>=2.0.0,<2.2.0',
    'mmdet>=3.3.0,<3.4',
    'pycocotools',
    'numpy',
]

# Export and serving (tools/deployment/): ONNX files, onnxruntime and OpenVINO
# to run them, onnxruntime's quantiser for INT8.
DEPLOY_REQUIRE = ['onnx', 'onnxruntime', 'openvino']
# The lint the test command runs first (settings in setup.cfg, as pre-commit's).
LINT_REQUIRE = ['flake8==7.*', 'isort==5.13.*']
# Semantic segmentation through mmsegmentation (configs/*/ade20k/); optional.
# mmseg's text-model code imports ftfy and regex without declaring them.
SEGMENTATION_REQUIRE = ['mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex']
# What `mim search mmattn` / `mim train mmattn CONFIG` import. openmim itself is
# installed with --no-deps (tools/setup_env.sh --tests): its declared dependency
# opendatalab pulls openxlab, which pins setuptools==60.2.0 and requests 2.28,
# below what torch (setuptools>=77.0.3) needs; mim's commands never import it.
MIM_RUNTIME_REQUIRE = ['model-index', 'pandas', 'tabulate', 'rich', 'click',
                       'colorama', 'requests']
TESTS_REQUIRE = ['pytest'] + DEPLOY_REQUIRE + LINT_REQUIRE + MIM_RUNTIME_REQUIRE


def matching_torchvision() -> str:
    """The torchvision release built for the installed torch (torch 2.N pairs
    with torchvision 0.(N+15)), so that installing the ``pretrain`` extra never
    moves torch. Without torch visible (an isolated build), the range our
    torch pin allows."""
    try:
        import torch
    except ImportError:
        return 'torchvision>=0.16,<0.29'
    major, minor = (int(v) for v in torch.__version__.split('+')[0].split('.')[:2])
    return f'torchvision=={major - 2}.{minor + 15}.*'


# ImageNet pre-training through mmpretrain (configs/epsanet/imagenet/); optional.
PRETRAIN_REQUIRE = ['mmpretrain>=1.2.0,<1.3', matching_torchvision()]

setup(
    name='mmattn',
    version=read_version(),
    description='CNN attention blocks, EPSANet and VoVNetV2-eSE for MMDetection 3.x',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['mmattn', 'mmattn.*']),
    include_package_data=False,
    package_data={'mmattn': ['.mim/model-index.yml', '.mim/configs/**/*.yml',
                             '.mim/configs/**/*.py', '.mim/configs/**/*.md',
                             '.mim/tools/**/*.py', '.mim/tools/**/*.sh']},
    install_requires=INSTALL_REQUIRES,
    extras_require={'tests': TESTS_REQUIRE, 'pretrain': PRETRAIN_REQUIRE,
                    'segmentation': SEGMENTATION_REQUIRE, 'deploy': DEPLOY_REQUIRE},
    entry_points={'console_scripts': ['mmattn-train=mmattn.cli.train:main',
                                      'mmattn-test=mmattn.cli.test:main']},
    zip_safe=False,
)
