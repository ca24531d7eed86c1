"""Files at the edges of the library: reading photos, writing results.

Where photos are (:mod:`~salt.io.storage`), what a file name says (:mod:`~salt.io.names`),
how a photo folder is laid out (:mod:`~salt.io.folders`) or a manifest lists photos
(:mod:`~salt.io.manifest`), decoding a photo (:mod:`~salt.io.photo`), drawing overlays
(:mod:`~salt.io.overlay`), the output folder (:mod:`~salt.io.outputs`) and whose it is
(:mod:`~salt.io.ownership`), CSV files safe in a spreadsheet (:mod:`~salt.io.csvsafe`)
and atomic writes (:mod:`~salt.io.atomic`).

No torch here: these modules read and write bytes and arrays.
"""
