"""Files at the edges of the library: reading photos, writing results.

Where photos are (:mod:`~salt.io.storage`), how a photo folder is laid out
(:mod:`~salt.io.folders`), decoding a photo (:mod:`~salt.io.photo`), drawing overlays
(:mod:`~salt.io.overlay`), the output folder (:mod:`~salt.io.outputs`) and atomic
writes (:mod:`~salt.io.atomic`).

No torch here: these modules read and write bytes and arrays.
"""
