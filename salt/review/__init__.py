"""Clinician review of a batch run: the HTML report, mask corrections and the one-visit sheet.

- :mod:`salt.review.report`: ``report.html`` of an output folder (:func:`write_report`).
- :mod:`salt.review.coco`: predicted masks out as COCO polygons, corrected ones back in
  as a labelled folder (:func:`export_coco`, :func:`import_coco`).
- :mod:`salt.review.rescore`: re-score visits from corrected masks (:func:`rescore`).
- :mod:`salt.review.sheet`: the one-visit sheet for a patient record (:func:`visit_sheet`).

These modules read and write output folders; none of them imports torch.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["finish_output"]


def finish_output(out: Any, visits: Any) -> Any:
    """Finish an output folder after a model run: apply stored corrections, write the report.

    ``salt score`` calls this at the end of every run into ``out`` (holding its lock):
    corrected visits stay corrected (:func:`salt.review.rescore.apply_corrections`),
    and ``report.html`` is written (:func:`salt.review.report.write_report`).

    Parameters
    ----------
    out : Path
        The output folder.
    visits : pandas.DataFrame
        The visits table the run wrote.

    Returns
    -------
    pandas.DataFrame
        The visits table, with corrected visits re-scored from their masks.
    """
    from salt.errors import SaltError
    from salt.review.report import write_report
    from salt.review.rescore import apply_corrections

    corrected = apply_corrections(out)
    try:
        write_report(out)
    except (OSError, SaltError) as exc:  # the tables are written; say why the page is not
        logging.getLogger(__name__).error("report.html not written in %s: %s", out, exc)
    return visits if corrected is None else corrected
