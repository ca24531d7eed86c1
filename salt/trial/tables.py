"""Reading the spreadsheets clinics and trial teams hand over.

:func:`read_table` reads a CSV exported from Excel, LibreOffice or a clinical
system whatever its dialect, and says what it detected (:class:`TableFormat`):

* **encoding**: a byte-order mark, else UTF-8, else Windows-1252 (Excel's
  "CSV" on Western Windows), else Latin-1;
* **delimiter**: a ``sep=;`` first line (Excel's hint) wins; else the one of
  ``,`` ``;`` tab ``|`` that splits the header into the most columns;
* **decimal mark**: a comma when numbers are written ``12,5`` (and none
  ``12.5``); with a comma delimiter only quoted cells can hold one;
* **header**: names trimmed and folded to lower case, spaces to ``_``
  (``Subject`` and ``Top `` are ``subject`` and ``top``);
* **blank rows** are skipped, and **trailing delimiters** (rows ending in a
  comma, as many exports have them) are dropped when the extra cells are
  empty; a row with more non-empty cells than the header is an error naming
  its line, never a shift of the columns.

The returned table holds text (``None`` where empty) with the file's line
numbers as its index (named ``line``), so later messages can name lines. A cell
that :mod:`salt` escaped against formula injection (``'=x``) is read back as
written (``=x``; :func:`salt.io.csvsafe.unescape_cell`).

:func:`visit_weeks` reads visit labels with their units into one time axis
in weeks (``week-4`` is week 4, ``day 10`` is 10/7, ``Month 18`` is 78, after
``Week 52``; ``baseline`` is 0). :func:`normalise_subjects`
makes subject IDs comparable (Unicode NFC, trimmed) and refuses IDs that differ
only in case.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from salt.errors import BadValueError, InputFileError
from salt.io.csvsafe import unescape_cell
from salt.trial.treatments import WEEKS_PER_MONTH, WEEKS_PER_YEAR

__all__ = [
    "VISIT_UNITS",
    "TableFormat",
    "normalise_subjects",
    "parse_visit_label",
    "read_table",
    "visit_weeks",
]

_DELIMITERS = (",", ";", "\t", "|")
_COMMA_NUMBER = re.compile(r"[+-]?\d+,\d+")
_DOT_NUMBER = re.compile(r"[+-]?\d*\.\d+")
_SEP_LINE = re.compile(r"sep=(.)", re.IGNORECASE)

#: Visit-label units and their length in weeks (a month is 52/12 weeks, a year 52).
VISIT_UNITS: dict[str, float] = {
    **dict.fromkeys(("d", "day", "days", "dag", "dagen", "tag", "tage", "jour", "jours"), 1 / 7),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks", "wo", "woche", "wochen", "semaine"), 1.0),
    **dict.fromkeys(
        ("m", "mo", "mon", "mth", "month", "months", "maand", "maanden", "monat", "mois"),
        WEEKS_PER_MONTH,
    ),
    **dict.fromkeys(("y", "yr", "year", "years", "jaar", "jahr"), WEEKS_PER_YEAR),
}
_ZERO_LABELS = frozenset({"baseline", "bl", "day0"})
# A dash right after the unit word separates ("week-4" is week 4); after a space it is a sign
# ("week -4" is four weeks before baseline, a screening visit).
_LABEL = re.compile(
    r"(?P<unit>[a-z]+)?(?:-|[\s_.:/]*)(?P<num>[+-]?\d+(?:[.,]\d+)?)\s*(?P<unit2>[a-z]+)?"
)


@dataclass(frozen=True)
class TableFormat:
    """What :func:`read_table` detected in a file.

    Attributes
    ----------
    encoding : str
        ``utf-8``, ``utf-8-sig`` (with a byte-order mark), ``utf-16``,
        ``cp1252`` (Windows-1252) or ``latin-1``.
    delimiter : str
        The column separator.
    decimal : str
        ``.`` or ``,``.
    sep_line : bool
        The file started with a ``sep=`` line.
    blank_lines : tuple of int
        Lines skipped because every cell was empty.
    trailing_delimiter_lines : tuple of int
        Lines whose empty cells beyond the header were dropped.
    renamed : dict
        Header names as written -> as used (only those that changed).
    """

    encoding: str
    delimiter: str
    decimal: str
    sep_line: bool = False
    blank_lines: tuple[int, ...] = ()
    trailing_delimiter_lines: tuple[int, ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def plain(self) -> bool:
        """Whether the file is a plain CSV (UTF-8, commas, points, nothing skipped or renamed)."""
        return (
            self.encoding == "utf-8"
            and self.delimiter == ","
            and self.decimal == "."
            and not (self.sep_line or self.blank_lines or self.trailing_delimiter_lines)
            and not self.renamed
        )

    def describe(self) -> str:
        """Return one sentence saying what was detected.

        Returns
        -------
        str
            For example ``"encoding cp1252, delimiter ';', decimal comma; 'sep=' line
            skipped; 2 blank row(s) skipped (lines 4, 9)"``.
        """
        names = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
        parts = [
            f"encoding {self.encoding}, delimiter {names.get(self.delimiter, self.delimiter)}, "
            f"decimal {'comma' if self.decimal == ',' else 'point'}"
        ]
        if self.sep_line:
            parts.append("'sep=' line skipped")
        if self.blank_lines:
            parts.append(
                f"{len(self.blank_lines)} blank row(s) skipped ({_lines(self.blank_lines)})"
            )
        if self.trailing_delimiter_lines:
            parts.append(
                f"empty cells after the last column dropped on "
                f"{len(self.trailing_delimiter_lines)} row(s)"
            )
        if self.renamed:
            parts.append(
                "header names folded: "
                + ", ".join(f"{a!r}->{b!r}" for a, b in self.renamed.items())
            )
        return "; ".join(parts)


def _lines(lines: tuple[int, ...] | list[int]) -> str:
    shown = ", ".join(map(str, lines[:8]))
    return f"lines {shown}{' ...' if len(lines) > 8 else ''}"


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _delimiter(line: str) -> str:
    counts = {d: len(next(csv.reader([line], delimiter=d))) for d in _DELIMITERS}
    best = max(counts.values())
    return next(d for d in _DELIMITERS if counts[d] == best)


def _header_name(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip().lstrip("\ufeff").strip()).lower()


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, TableFormat]:
    """Read a CSV table whatever its dialect, and say what was detected.

    Parameters
    ----------
    path : path-like
        The file.
    encoding, delimiter, decimal : str, optional
        Force a choice instead of detecting it.

    Returns
    -------
    table : pandas.DataFrame
        Text cells (``None`` where empty), lower-case column names, the file's
        line numbers as the index (named ``line``).
    fmt : TableFormat
        What was detected.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, has no header or no data rows, or a
        row has more non-empty cells than the header (naming the line).
    """
    text, encoding = _read_text(path, encoding)
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise InputFileError(f"{path}: the file is empty")
    sep = _SEP_LINE.fullmatch(lines[first].strip().strip('"'))
    if sep:
        delimiter = delimiter or sep.group(1)
        body_start = first + 1
    else:
        body_start = first
    remaining = [(i + 1, line) for i, line in enumerate(lines) if i >= body_start]
    header_at = next((k for k, (_, line) in enumerate(remaining) if line.strip()), None)
    if header_at is None:
        raise InputFileError(f"{path}: no header row")
    if delimiter is None:
        delimiter = _delimiter(remaining[header_at][1])
    cells, numbers = _split(path, remaining[header_at:], delimiter)
    header_line, header = cells[0]
    names, renamed = _names(path, header, header_line)
    records, index, blank, trailing = _records(path, cells[1:], names)
    if not records:
        raise InputFileError(f"{path}: the table has no rows")
    decimal = decimal or _decimal(numbers, delimiter)
    table = pd.DataFrame(records, columns=names, index=pd.Index(index, name="line"), dtype=object)
    if decimal == ",":
        table = table.map(
            lambda c: (
                c.replace(",", ".") if isinstance(c, str) and _COMMA_NUMBER.fullmatch(c) else c
            )
        )
    fmt = TableFormat(
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        sep_line=bool(sep),
        blank_lines=tuple(blank),
        trailing_delimiter_lines=tuple(trailing),
        renamed=renamed,
    )
    return table, fmt


def _read_text(path: Any, encoding: str | None) -> tuple[str, str]:
    """Read the file's text, detecting the encoding unless one is given."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if encoding is None:
        return _decode(data)
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputFileError(f"{path}: not readable as {encoding} ({exc})") from None


def _records(
    path: Any, cells: list[tuple[int, list[str]]], names: list[str]
) -> tuple[list[list[str | None]], list[int], list[int], list[int]]:
    """Cut or pad data rows to the header; return records, their lines, blank and cut lines."""
    width = len(names)
    blank, trailing, index = [], [], []
    records: list[list[str | None]] = []
    for line, row in cells:
        if not any(c.strip() for c in row):
            blank.append(line)
            continue
        if len(row) > width:
            extra = row[width:]
            if any(c.strip() for c in extra):
                raise InputFileError(
                    f"{path}: line {line}: {len(row)} cells but the header has {width} columns "
                    f"({', '.join(names)}); extra cells {extra[:3]}"
                )
            trailing.append(line)
            row = row[:width]
        row = row + [""] * (width - len(row))
        records.append([unescape_cell(c.strip()) or None for c in row])
        index.append(line)
    return records, index, blank, trailing


def _split(
    path: Any, numbered: list[tuple[int, str]], delimiter: str
) -> tuple[list[tuple[int, list[str]]], dict[str, int]]:
    """Split lines into cells (quotes honoured); count comma- and point-decimal cells."""
    text = "\n".join(line for _, line in numbered)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    out, counts = [], {",": 0, ".": 0}
    offset = numbered[0][0]
    start = 0
    try:
        for row in reader:
            out.append((offset + start, row))
            start = reader.line_num
            for cell in row:
                c = cell.strip()
                if _COMMA_NUMBER.fullmatch(c):
                    counts[","] += 1
                elif _DOT_NUMBER.fullmatch(c):
                    counts["."] += 1
    except csv.Error as exc:
        raise InputFileError(f"{path}: line {offset + start}: {exc}") from None
    return out, counts


def _names(path: Any, header: list[str], line: int) -> tuple[list[str], dict[str, str]]:
    while header and not header[-1].strip():
        header = header[:-1]  # a trailing delimiter on the header line
    names = [_header_name(h) for h in header]
    for k, name in enumerate(names):
        if not name:
            raise InputFileError(f"{path}: line {line}: column {k + 1} has no name")
    seen: dict[str, str] = {}
    for raw, name in zip(header, names, strict=True):
        if name in seen:
            raise InputFileError(
                f"{path}: line {line}: columns {seen[name]!r} and {raw!r} are both {name!r}"
            )
        seen[name] = raw
    renamed = {raw: name for raw, name in zip(header, names, strict=True) if raw != name}
    return names, renamed


def _decimal(numbers: dict[str, int], delimiter: str) -> str:
    if numbers[","] and not numbers["."]:
        return ","
    return "."


def parse_visit_label(label: Any) -> float | None:
    """Read a visit label in weeks; ``None`` if it cannot be read.

    Parameters
    ----------
    label : str or number
        ``24``, ``week24``, ``W24``, ``week-4`` (week 4: the dash separates; ``week -4``
        with a space is four weeks before baseline),
        ``Week 52``, ``Month 18``, ``day 10``, ``12 weeks``, ``baseline``. A bare
        number is in weeks.

    Returns
    -------
    float or None
        Weeks (:data:`VISIT_UNITS`), ``None`` for text that is not a label.

    Examples
    --------
    >>> parse_visit_label("week-4"), parse_visit_label("Month 18"), parse_visit_label("day 14")
    (4.0, 78.0, 2.0)
    """
    if isinstance(label, (int, float)) and not isinstance(label, bool):
        return float(label) if pd.notna(label) else None
    text = unicodedata.normalize("NFKC", str(label)).strip().lower()
    if text in _ZERO_LABELS:
        return 0.0
    match = _LABEL.fullmatch(text)
    if not match:
        return None
    unit, unit2 = match.group("unit"), match.group("unit2")
    if unit and unit2:
        return None
    number = float(match.group("num").replace(",", "."))
    name = unit or unit2
    if name is None:
        return number
    if name not in VISIT_UNITS:
        return None
    return number * VISIT_UNITS[name]


def visit_weeks(labels: pd.Series, *, source: str = "table", column: str = "visit") -> pd.Series:
    """Read a column of visit labels into weeks, naming every label that cannot be read.

    Parameters
    ----------
    labels : pandas.Series
        Labels, indexed by line number (or row).
    source : str
        File name for the message.
    column : str
        Column name for the message.

    Returns
    -------
    pandas.Series of float64
        Weeks, same index.

    Raises
    ------
    BadValueError
        Naming the lines and labels that could not be read.
    """
    weeks = labels.map(parse_visit_label)
    bad = weeks.isna() & labels.notna()
    if bad.any():
        shown = ", ".join(f"line {i}: {labels[i]!r}" for i in labels.index[bad.to_numpy()][:6])
        raise BadValueError(
            f"{source}: column {column!r} has label(s) that cannot be read ({shown}); write them "
            "as a unit and a number, e.g. 'week 4', 'day 10', 'month 18', or 'baseline'"
        )
    return weeks.astype("float64")


def normalise_subjects(
    subjects: pd.Series, *, source: str = "table", column: str = "subject"
) -> pd.Series:
    """Put subject IDs in Unicode NFC, trimmed; IDs that differ only in case are an error.

    ``Zoë`` typed with a combining diaeresis and with the single letter become one
    ID, as do ``P01`` and ``P01 ``. ``P01`` and ``p01`` may be two people or one
    typed twice: that is not guessed, the error names both.

    Parameters
    ----------
    subjects : pandas.Series
        IDs, indexed by line number (or row).
    source, column : str
        For the message.

    Returns
    -------
    pandas.Series
        The normalised IDs (text), same index.

    Raises
    ------
    BadValueError
        Naming the IDs that differ only in case and their lines.
    """
    ids = subjects.map(lambda s: unicodedata.normalize("NFC", str(s)).strip(), na_action="ignore")
    folded = ids.dropna().map(str.casefold)
    for _, group in ids.dropna().groupby(folded.to_numpy()):
        spellings = list(dict.fromkeys(group))
        if len(spellings) > 1:
            where = "; ".join(
                f"{s!r} ({_lines(list(group.index[(group == s).to_numpy()]))})" for s in spellings
            )
            raise BadValueError(
                f"{source}: column {column!r}: IDs that differ only in case: {where}; "
                "write them the same way if they are one person, or make them clearly different"
            )
    return ids
