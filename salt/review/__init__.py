"""Clinician review of a batch run: the HTML report, mask corrections and the one-visit sheet.

- :mod:`salt.review.report`: ``report.html`` of an output folder (:func:`write_report`).
- :mod:`salt.review.coco`: predicted masks out as COCO polygons, corrected ones back in
  as a labelled folder (:func:`export_coco`, :func:`import_coco`).
- :mod:`salt.review.rescore`: re-score visits from corrected masks (:func:`rescore`).
- :mod:`salt.review.sheet`: the one-visit sheet for a patient record (:func:`visit_sheet`).

These modules read and write output folders; none of them imports torch.
"""

from __future__ import annotations

__all__: list[str] = []
