"""Convert an official centermask2 checkpoint (CenterMask / CenterMask-Lite on
VoVNetV2) for mmattn's CenterMask configs.

    python tools/model_converters/centermask2_to_mmdet.py centermask2-V-39-eSE-FPN-ms-3x.pth checkpoints/centermask_vovnet39_fpn_ms-3x_coco.pth [--config CONFIG]

Every key of the file is mapped or the conversion fails (exit 2, nothing
written); the result is checked against the model the config builds (found
from the backbone and FPN width when --config is not given), and model
weights the file does not fill are listed.
"""
import argparse
import os.path as osp
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='converted checkpoint (load_from / test.py CHECKPOINT)')
    parser.add_argument('--config', help='the CenterMask config the checkpoint is for')
    args = parser.parse_args()
    import mmattn  # noqa: F401
    from mmattn.converters.centermask_checkpoints import convert_centermask2, matching_config
    from mmattn.converters.vovnet_checkpoints import load_checkpoint_file

    def fail(message: str) -> int:
        print(f'centermask2_to_mmdet: error: {message}', file=sys.stderr)
        return 2

    if not osp.isfile(args.src):
        return fail(f'{args.src!r} does not exist')
    try:
        state, unknown, dropped = convert_centermask2(load_checkpoint_file(args.src))
    except ValueError as error:
        return fail(str(error))
    if unknown:
        shown = '\n  '.join(unknown[:20]) + ('\n  ...' if len(unknown) > 20 else '')
        return fail(f'{len(unknown)} keys of {args.src} are not centermask2 CenterMask weights '
                    f'this converter knows; nothing written:\n  {shown}')
    try:
        config = args.config or matching_config(state, REPO)[0]
    except (ValueError, KeyError) as error:
        return fail(str(error))
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    expected = MODELS.build(cfg.model).state_dict()
    wrong = [f'{k}: file {tuple(v.shape)}, model {tuple(expected[k].shape)}'
             for k, v in state.items() if k in expected and expected[k].shape != v.shape]
    extra = [k for k in state if k not in expected]
    if wrong or extra:
        return fail(f'the converted weights do not fit {config}:\n  ' +
                    '\n  '.join(wrong + [f'{k}: not in the model' for k in extra]))
    unfilled = [k for k in expected if k not in state and not k.endswith('num_batches_tracked')]
    from mmattn.utils.staged_directory import staged_file
    with staged_file(args.dst) as partial:
        torch.save({'state_dict': state, 'meta': dict(source='centermask2', config=config)},
                   partial)
    print(f'wrote {args.dst}: {len(state)} tensors for {osp.relpath(config, REPO)}')
    if dropped:
        print(f'not weights, not written: {", ".join(dropped)} (the config\'s data_preprocessor '
              'normalises the input)')
    if unfilled:
        print(f'{len(unfilled)} model weights are not in the file and keep their initialisation:')
        for key in unfilled:
            print(f'  {key}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
