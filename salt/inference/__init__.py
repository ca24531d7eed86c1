"""From photos to SALT with a trained model.

* :mod:`~salt.inference.pipeline`: the stages (load and hash, batched inference, finish:
  per-view %, SALT, status, overlays) and the visit entries they produce.
* :mod:`~salt.inference.local`: runs the pipeline in this process.
* :mod:`~salt.inference.cluster`: runs the same pipeline on the workers of a Dask
  cluster (optional, ``salt[distributed]``); it imports the pipeline only.
* :mod:`~salt.inference.engine`: the public calls, :func:`~salt.inference.engine.score_visit`
  and :func:`~salt.inference.engine.score_folder`, which choose a runner.
"""
