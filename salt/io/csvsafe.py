"""CSV files that are safe to open in a spreadsheet: cells escaped against formula injection.

Every CSV file :mod:`salt` writes goes through :func:`write_csv` (or :func:`csv_text`),
the one owner of this rule. A text cell that a spreadsheet would run as a formula
(it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed
with a single quote, as the OWASP "CSV Injection" guidance asks; the spreadsheet
then shows the text as written. Double quotes inside a cell are doubled and such a
cell is quoted by the CSV writer itself.

What is not escaped: numbers (a float column with ``-2.5`` stays a number) and text
that is exactly a decimal number (``"-2"``, ``"+1.5e3"``), which no spreadsheet can
run. Parquet files keep the raw values. :func:`unescape_cell` undoes the rule for a
program that reads a CSV written by :mod:`salt`.

References
----------
OWASP Foundation, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

import pandas as pd

from salt.io.atomic import atomic_write_text

__all__ = [
    "FORMULA_PREFIXES",
    "csv_text",
    "escape_cell",
    "escape_frame",
    "unescape_cell",
    "write_csv",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value: Any) -> Any:
    """Escape one cell against formula injection (OWASP rule).

    Parameters
    ----------
    value : object
        A cell value. Only text is changed.

    Returns
    -------
    object
        ``"'" + value`` when ``value`` is text that starts with one of
        :data:`FORMULA_PREFIXES` and is not a plain decimal number; ``value``
        unchanged otherwise.

    Examples
    --------
    >>> escape_cell("=SUM(A1:A9)")
    "'=SUM(A1:A9)"
    >>> escape_cell("-2.5"), escape_cell(-2.5), escape_cell("P01")
    ('-2.5', -2.5, 'P01')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        if _NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell` for a cell read back from a CSV file written by :mod:`salt`.

    Parameters
    ----------
    value : object
        A cell value as read.

    Returns
    -------
    object
        ``value`` without the leading ``'`` when the rest starts with one of
        :data:`FORMULA_PREFIXES`; ``value`` unchanged otherwise.

    Examples
    --------
    >>> unescape_cell("'=1+1"), unescape_cell("'quoted")
    ('=1+1', "'quoted")
    """
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with every text cell and column name escaped.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table about to be written as CSV.

    Returns
    -------
    pandas.DataFrame
        Same shape and dtypes; text cells (object, string and categorical columns)
        and column names passed through :func:`escape_cell`. Numeric columns are
        untouched.
    """
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[name] = col.cat.rename_categories([escape_cell(c) for c in col.cat.categories])
        elif col.dtype == object or isinstance(col.dtype, pd.StringDtype):
            out[name] = col.map(escape_cell, na_action="ignore").astype(col.dtype)
    out.columns = [escape_cell(c) for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(escape_cell)
    return out


def csv_text(frame: pd.DataFrame, **to_csv: Any) -> str:
    """Return ``frame`` as escaped CSV text (Unix line ends, no index by default).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    **to_csv
        Further arguments of :meth:`pandas.DataFrame.to_csv` (``float_format``,
        ``index``, ...).

    Returns
    -------
    str
        The CSV text.
    """
    buffer = io.StringIO()
    options: dict[str, Any] = {"index": False, "lineterminator": "\n", **to_csv}
    escape_frame(frame).to_csv(buffer, **options)
    return buffer.getvalue()


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame, **to_csv: Any) -> None:
    """Write ``frame`` to ``path`` as escaped CSV, atomically (UTF-8).

    Parameters
    ----------
    path : path-like
        The CSV file; written to a temporary file beside it, then renamed
        (:func:`salt.io.atomic.atomic_write`).
    frame : pandas.DataFrame
        The table.
    **to_csv
        Further arguments of :meth:`pandas.DataFrame.to_csv`.
    """
    atomic_write_text(path, csv_text(frame, **to_csv))
