"""The model zoo: the metafiles (``metafiles``), training and testing each
model into its work dir (``runs``), publishing a checkpoint (``publishing``),
and gathering finished runs into published weights, results and updated
metafiles (``gathering``). Commands: ``tools/model_zoo/run_zoo.py``,
``tools/model_zoo/gather_models.py``, ``tools/model_converters/publish_model.py``."""
