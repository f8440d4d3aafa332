"""Run an exported detector (``detector_onnx``) with onnxruntime or OpenVINO
(``runtimes``) and get mmdet ``DetDataSample``s back, as ``model.predict`` gives them: boxes in the
original image's coordinates, masks pasted at its size, so that mmdet's
``DetLocalVisualizer`` and ``CocoMetric`` take them unchanged.

    detector = OnnxDetector('mask_rcnn.onnx', 'configs/vovnet/mask_rcnn_vovnet39_coco.py')
    sample = detector('demo.jpg')            # or an HxWx3 BGR array, or a list of them
    sample.pred_instances.bboxes, .scores, .labels, .masks
    OnnxDetector('mask_rcnn.onnx', CONFIG, backend='openvino')   # the same, in OpenVINO

The config's test pipeline and data preprocessor make ``input``; after the
run, each image's boxes are clipped to its resized shape and divided by its
scale factor, and masks are pasted by the config's own mask head (mmdet's
``FCNMaskHead.predict_by_feat``, with the probabilities the file outputs).
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from .onnx_files import check_input
from .runtimes import open_session

ImageLike = Union[str, np.ndarray]


def test_pipeline(cfg: Config, from_array: bool):
    """The config's test pipeline without its annotation loading, for an
    image file, or (``from_array``) an HxWx3 BGR array, as in mmdet's
    ``inference_detector``."""
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    steps = [copy.deepcopy(dict(step)) for step in get_test_pipeline_cfg(cfg)
             if not str(step.get('type', '')).endswith('LoadAnnotations')]
    if from_array:
        steps[0]['type'] = 'mmdet.LoadImageFromNDArray'
    return Compose(steps)


def preprocessed_shape(model, image: np.ndarray) -> tuple:
    """The (1, 3, H, W) input ``model``'s test pipeline and data preprocessor
    make of ``image`` (an HxWx3 BGR array)."""
    data = test_pipeline(model.cfg, True)(dict(img=image, img_id=0))
    batch = model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    return tuple(batch['inputs'].shape)


class OnnxDetector:
    """An ONNX detector file and the config it was exported from, run by
    ``backend`` (``runtimes.BACKENDS``); ``precision``: OpenVINO's inference
    precision (``f32``, or ``bf16`` where the CPU has it); ``profile``: time
    the operators (``self.session.operator_profile()``)."""

    def __init__(self, onnx_file: str, config: Union[str, Config],
                 providers: Optional[Sequence[str]] = None, backend: str = 'onnxruntime',
                 precision: Optional[str] = None, profile: bool = False) -> None:
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules

        import mmattn  # noqa: F401  (registers mmattn's modules)
        from mmattn.utils.config import load_config
        from mmattn.utils.errors import UsageError
        register_all_modules(init_default_scope=True)
        self.cfg = load_config(config) if isinstance(config, str) else config
        self.session = open_session(onnx_file, backend, precision, providers, profile)
        self.onnx_file = onnx_file
        self.output_names = self.session.output_names
        if self.output_names[:2] != ['dets', 'labels']:
            raise UsageError(f'{onnx_file!r} is not a detector exported by mmattn (its outputs '
                             f'are {self.output_names}; expected dets, labels[, masks...])')
        self.preprocessor = MODELS.build(self.cfg.model.data_preprocessor)
        self.mask_head, self.mask_cfg = None, None
        if 'masks' in self.output_names:
            roi_head = self.cfg.model.roi_head
            self.mask_head = MODELS.build(roi_head.mask_head)
            self.mask_head.class_agnostic = True  # the file gives each detection's class only
            test_cfg = self.cfg.model.test_cfg
            self.mask_cfg = test_cfg.get('rcnn') or test_cfg.get('mask')
        self._pipelines: Dict[bool, object] = {}

    # ------------------------------------------------------------ inputs
    def _pipeline(self, from_array: bool):
        if from_array not in self._pipelines:
            self._pipelines[from_array] = test_pipeline(self.cfg, from_array)
        return self._pipelines[from_array]

    def _load(self, image: ImageLike) -> dict:
        from mmattn.utils.images import check_image_file
        if isinstance(image, np.ndarray):
            return self._pipeline(True)(dict(img=image, img_id=0))
        check_image_file(str(image))  # exists, within the pixel limit, whole
        return self._pipeline(False)(dict(img_path=str(image), img_id=0))

    # --------------------------------------------------------------- run
    def predict_batch(self, data_batch: dict) -> list:
        """Predictions for a batch as a dataloader gives it (``inputs``: list
        of uint8 CHW tensors, ``data_samples``), as ``model.test_step`` does."""
        inputs, samples = self.preprocess(data_batch)
        return self.postprocess(self.run_network(inputs), samples)

    # The three stages of ``predict_batch``, apart for timing them.
    def preprocess(self, data_batch: dict):
        """The file's ``input`` array and the batch's data samples."""
        batch = self.preprocessor(data_batch, False)
        inputs = batch['inputs']
        check_input(self.session.input_shape, tuple(inputs.shape), repr(self.onnx_file))
        return inputs.cpu().numpy(), batch['data_samples']

    def run_network(self, inputs: np.ndarray) -> Dict[str, np.ndarray]:
        """The file's outputs by name."""
        return dict(zip(self.output_names, self.session.run(inputs)))

    def postprocess(self, outputs: Dict[str, np.ndarray], samples: list) -> list:
        """``samples`` with their ``pred_instances`` from the file's outputs."""
        for i, sample in enumerate(samples):
            sample.pred_instances = self._instances(outputs, i, sample.metainfo)
        return samples

    def __call__(self, images: Union[ImageLike, List[ImageLike]]):
        """``DetDataSample`` for an image (path or BGR array), or a list of
        them for a list of images."""
        single = not isinstance(images, (list, tuple))
        samples = self.predict_batch(self.load(images if not single else [images]))
        return samples[0] if single else samples

    def load(self, images: List[ImageLike]) -> dict:
        """A batch of ``images`` through the test pipeline, as a dataloader
        gives it to ``predict_batch``."""
        loaded = [self._load(image) for image in images]
        return dict(inputs=[d['inputs'] for d in loaded],
                    data_samples=[d['data_samples'] for d in loaded])

    def _instances(self, outputs: Dict[str, np.ndarray], i: int, meta: dict) -> InstanceData:
        labels = torch.from_numpy(outputs['labels'][i])
        keep = labels >= 0
        dets = torch.from_numpy(outputs['dets'][i])[keep]
        h, w = meta['img_shape'][:2]
        boxes = dets[:, :4].clone()
        boxes[:, 0::2] = boxes[:, 0::2].clamp(min=0, max=w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(min=0, max=h)
        result = InstanceData(bboxes=boxes, scores=dets[:, 4], labels=labels[keep])
        if 'mask_scores' in outputs:
            result.mask_scores = torch.from_numpy(outputs['mask_scores'][i])[keep]
        scale = boxes.new_tensor(meta['scale_factor']).repeat(2)
        if self.mask_head is None:
            result.bboxes = boxes / scale
            return result
        masks = torch.from_numpy(outputs['masks'][i])[keep][:, None]
        if len(result) == 0:
            result.bboxes = boxes / scale
            oh, ow = meta['ori_shape'][:2]
            result.masks = torch.zeros(0, oh, ow, dtype=torch.bool)
            return result
        # rescales the boxes in place, pastes at the original size, thresholds
        # (mmdet copies the probabilities with new_tensor, which warns about it)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', 'To copy construct from a tensor')
            return self.mask_head.predict_by_feat((masks,), [result], [meta], self.mask_cfg,
                                                  rescale=True, activate_map=True)[0]
