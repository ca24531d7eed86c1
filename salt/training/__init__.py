"""Teaching and measuring the network.

* :mod:`~salt.training.data`: samples for training (synthetic renders, labelled folders).
* :mod:`~salt.training.augment`: the photographic augmentations.
* :mod:`~salt.training.train`: the training loop, checkpoints and validation.
* :mod:`~salt.training.metrics`: segmentation and percent metrics shared by validation
  and evaluation.
* :mod:`~salt.training.evaluate`: a model against ground truth (held-out synthetic visits
  or a labelled folder), measured through the same decoder and backend as ``salt score``.
"""
