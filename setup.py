"""Packaging for mmattn.

Configs live in the top-level ``configs/`` folder; ``mmattn/.mim/configs`` is a
symbolic link to it, so a built wheel carries them as package data under
``mmattn/.mim/configs``, which is where mmengine looks for ``mmattn::`` bases.
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

# Backbone export (tools/deployment/export_backbone_onnx.py).
DEPLOY_REQUIRE = ['onnx', 'onnxruntime']
# The lint the test command runs first (settings in setup.cfg, as pre-commit's).
LINT_REQUIRE = ['flake8==7.*', 'isort==5.13.*']
TESTS_REQUIRE = ['pytest'] + DEPLOY_REQUIRE + LINT_REQUIRE


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
    package_data={'mmattn': ['.mim/model-index.yml',
                             '.mim/configs/**/*.py', '.mim/configs/**/*.md']},
    install_requires=INSTALL_REQUIRES,
    extras_require={'tests': TESTS_REQUIRE, 'pretrain': PRETRAIN_REQUIRE,
                    'deploy': DEPLOY_REQUIRE},
    entry_points={'console_scripts': ['mmattn-train=mmattn.cli.train:main',
                                      'mmattn-test=mmattn.cli.test:main']},
    zip_safe=False,
)
