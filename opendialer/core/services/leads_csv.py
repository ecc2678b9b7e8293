"""The lead CSV: read, check and normalise, one row at a time (never the whole file).

Format (``docs/leads-csv.md``): ``name,phone`` per line, an optional third column
``description`` and fourth ``timezone``; UTF-8 with or without BOM; an optional
header (a first row whose phone column holds no digit) — a header naming its columns
(``name, phone, description, timezone, region``, or their Portuguese and Spanish
names) may put them in any order; ``;`` instead of ``,`` when the first row has ``;``
and no ``,`` (spreadsheet exports in many locales); quoted fields may hold commas
and line breaks; blank lines are ignored.

Bytes that are not UTF-8 are reported on their line (Latin-1 is recognised and
named), never decoded into something else. A file that is not text at all (NUL
bytes, an Excel workbook, UTF-16) is refused as a whole with :class:`NotCsv`.

This module is synchronous on purpose: :mod:`lead_import` runs it in a worker
thread, so a million rows never parse on the event loop.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from opendialer.core.services import lead_zones
from opendialer.core.services.errors import InvalidValue, ServiceError
from opendialer.core.services.phones import InvalidPhone, PhoneNormaliser, country_of, problem

MAX_ERRORS = 1000
#: Lines of numbers that look unassigned, named in the report (the rest are counted).
MAX_UNASSIGNED_LINES = 100
NAME_MAX = 200
DESCRIPTION_MAX = 2000
SNIFF_BYTES = 64 * 1024
#: A batch of rows holds about this much text at most (long descriptions).
BATCH_BYTES = 1 << 20
csv.field_size_limit(1024 * 1024)

#: A header cell (lower case, accents kept and dropped) → the column it names.
HEADER_NAMES = {
    **dict.fromkeys(("name", "nome", "nombre"), "name"),
    **dict.fromkeys(("phone", "telefone", "teléfono", "telefono", "number", "número"), "phone"),
    **dict.fromkeys(
        ("description", "descrição", "descricao", "descripción", "descripcion"), "description"
    ),
    **dict.fromkeys(
        ("timezone", "time_zone", "fuso_horario", "fuso horário", "zona_horaria"), "timezone"
    ),
    **dict.fromkeys(
        ("region", "state", "estado", "uf", "região", "regiao", "región", "provincia"), "region"
    ),
}
#: The columns of a file without a header naming them, in order.
POSITIONAL = ("name", "phone", "description", "timezone")
#: A valid row: line, name, phone, description, zone key (None: the campaign's), source.
LeadRow = tuple[int, str, str, str, str | None, str]

#: (first bytes, what it is) of files people upload by mistake.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument file?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class NotCsv(ServiceError):
    """The upload is not a text CSV file at all (HTTP 415)."""

    status = 415
    error = "not_csv"


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    problem: InvalidValue

    @property
    def reason(self) -> str:
        return str(self.problem)

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "code": self.problem.code,
            "params": self.problem.params,
        }


@dataclass
class ReadReport:
    """What reading the file found (duplicates are found later, in the database)."""

    lines: int = 0
    header: bool = False
    valid_rows: int = 0
    invalid_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    fast_path: int = 0
    slow_path: int = 0
    #: Imported anyway: phonenumbers' metadata calls these numbers unassigned.
    unassigned: int = 0
    unassigned_lines: list[int] = field(default_factory=list)
    #: Their countries (region codes, first seen first): the warning names these, not
    #: the region the file was read in (the guide's Brazilian numbers in a US campaign).
    unassigned_regions: list[str] = field(default_factory=list)

    def add(self, error: RowError) -> None:
        self.invalid_rows += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


def check_is_text(head: bytes) -> None:
    """Refuse a binary file from its first bytes, naming what it looks like."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            how = "save it as 'CSV UTF-8'" if "UTF-16" not in what else "re-save it as UTF-8"
            raise NotCsv("lead_file.not_text", what=what, how=how)
    if b"\x00" in head or len(_CONTROL.findall(head)) > max(8, len(head) // 100):
        raise NotCsv("lead_file.binary")


class _Prefixed(io.RawIOBase):
    """``head`` then the rest of ``stream``; with ``cr_only``, every CR read as LF."""

    def __init__(self, stream: BinaryIO, head: bytes, cr_only: bool) -> None:
        self._stream = stream
        self._pending = head
        self._cr_only = cr_only

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._pending or self._stream.read(len(buffer))
        self._pending = data[len(buffer) :]
        data = data[: len(buffer)]
        if self._cr_only:
            data = data.replace(b"\r", b"\n")
        buffer[: len(data)] = data
        return len(data)


def with_line_ends(stream: BinaryIO, head: bytes = b"") -> BinaryIO:
    """``stream`` (of which ``head`` was already read) with lines ending in LF.

    Files from old Mac spreadsheets end their lines with a lone CR: when the first
    64 KiB hold a CR and no LF, every CR is read as LF (CRLF and LF files are read
    as they are; the CSV reader and the DNC parser take either)."""
    head += stream.read(max(0, SNIFF_BYTES - len(head)))
    cr_only = b"\r" in head and b"\n" not in head
    return io.BufferedReader(_Prefixed(stream, head, cr_only), buffer_size=1 << 16)  # type: ignore[return-value]


def _encoding_problem(raw: bytes) -> InvalidValue:
    if b"\x00" in raw:
        return InvalidValue("lead_row.nul_bytes")
    return InvalidValue("lead_row.not_utf8")


class LeadCsvReader:
    """Yields batches of valid rows ``(line, name, phone, description)`` and fills ``report``.

    ``on_bytes`` is called with the number of bytes read so far (progress bars).
    """

    def __init__(
        self,
        stream: BinaryIO,
        region: str | None,
        *,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self._stream = stream
        self._normalise = PhoneNormaliser(region)
        self._on_bytes = on_bytes
        self.report = ReadReport()
        self._bad_encoding: dict[int, InvalidValue] = {}
        self._line = 0
        self.bytes_read = 0
        self._country = region or ""
        #: Column name → its index, from a header naming them; else positional.
        self._columns: dict[str, int] | None = None

    def _lines(self) -> Iterator[str]:
        """Decoded physical lines; undecodable ones are noted by line number.

        ``self._line`` is the number of the last line handed out: the csv reader
        reads no further than the record it returns, so it is that record's last line.
        """
        for raw in self._stream:
            self._line += 1
            self.bytes_read += len(raw)
            if self._line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if self._on_bytes is not None and self._line % 4096 == 0:
                self._on_bytes(self.bytes_read)
            try:
                text = raw.decode("utf-8")
                if "\x00" in text:
                    raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL")
            except UnicodeDecodeError:
                self._bad_encoding[self._line] = _encoding_problem(raw)
                text = raw.decode("latin-1").replace("\x00", "")
            yield text
        self.report.lines = self._line
        if self._on_bytes is not None:
            self._on_bytes(self.bytes_read)

    def batches(self, size: int = 5000, max_bytes: int = BATCH_BYTES) -> Iterator[list[LeadRow]]:
        """Valid rows in batches of at most ``size`` rows or about ``max_bytes`` of text."""
        lines = self._lines()
        first = next((ln for ln in lines if ln.strip()), None)
        if first is None:
            return
        delimiter = ";" if ";" in first and "," not in first else ","
        reader = csv.reader(_chain(first, lines), delimiter=delimiter)
        previous_end = self._line - 1  # the blank lines before the first row
        batch: list[LeadRow] = []
        batch_bytes = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self.report.add(
                    RowError(
                        previous_end + 1, "row", InvalidValue("lead_row.malformed", reason=str(exc))
                    )
                )
                previous_end = self._line
                continue
            start, previous_end = previous_end + 1, self._line
            if not record or all(not f.strip() for f in record):
                continue  # blank line
            bad = [n for n in range(start, previous_end + 1) if n in self._bad_encoding]
            if bad:
                self.report.add(RowError(bad[0], "row", self._bad_encoding[bad[0]]))
                for n in bad:
                    del self._bad_encoding[n]
                continue
            if not (self.report.valid_rows or self.report.invalid_rows or self.report.header):
                if _is_header(record):
                    self.report.header = True
                    self._columns = _named_columns(record)
                    continue
            row = self._check(start, record)
            if row is not None:
                batch.append(row)
                batch_bytes += len(row[1]) + len(row[3]) + 40
                if len(batch) >= size or batch_bytes >= max_bytes:
                    yield batch
                    batch, batch_bytes = [], 0
        if batch:
            yield batch
        self.report.fast_path = self._normalise.fast
        self.report.slow_path = self._normalise.slow

    def _cells(self, line: int, record: list[str]) -> dict[str, str] | None:
        """The row's cells by column name, or None after reporting a wrong count."""
        if self._columns is not None:
            if len(record) > max(self._columns.values()) + 1 or len(record) < 2:
                self.report.add(
                    RowError(line, "row", InvalidValue("lead_row.columns", n=len(record)))
                )
                return None
            return {name: record[i] for name, i in self._columns.items() if i < len(record)}
        if len(record) not in (2, 3, 4):
            self.report.add(RowError(line, "row", InvalidValue("lead_row.columns", n=len(record))))
            return None
        return dict(zip(POSITIONAL, record, strict=False))

    def _zone(self, line: int, cells: dict[str, str], phone: str) -> tuple[str | None, str] | None:
        """The lead's zone key and where it came from, or None after reporting a bad cell."""
        given = cells.get("timezone", "").strip()
        if given:
            try:
                return lead_zones.check_zone(given), lead_zones.FROM_CSV
            except InvalidValue as exc:
                self.report.add(RowError(line, "timezone", exc))
                return None
        region = cells.get("region", "").strip()
        if region:
            try:
                return lead_zones.zones_for_region(region, self._country), lead_zones.FROM_REGION
            except InvalidValue as exc:
                self.report.add(RowError(line, "region", exc))
                return None
        from_number = lead_zones.zones_for_number(phone)
        if from_number is not None:
            return from_number, lead_zones.FROM_NUMBER
        return None, lead_zones.FROM_CAMPAIGN

    def _check(self, line: int, record: list[str]) -> LeadRow | None:
        cells = self._cells(line, record)
        if cells is None:
            return None
        name = " ".join(cells.get("name", "").split())
        raw_phone = cells.get("phone", "").strip()
        description = cells.get("description", "").strip()
        if not name:
            self.report.add(RowError(line, "name", InvalidValue("lead_row.empty_name")))
            return None
        if len(name) > NAME_MAX:
            self.report.add(
                RowError(line, "name", InvalidValue("lead_row.name_too_long", n=NAME_MAX))
            )
            return None
        if len(description) > DESCRIPTION_MAX:
            self.report.add(
                RowError(
                    line,
                    "description",
                    InvalidValue("lead_row.description_too_long", n=DESCRIPTION_MAX),
                )
            )
            return None
        if not raw_phone:
            self.report.add(RowError(line, "phone", InvalidValue("lead_row.empty_phone")))
            return None
        try:
            number = self._normalise(raw_phone)
        except InvalidPhone as exc:
            self.report.add(RowError(line, "phone", problem(raw_phone, exc)))
            return None
        zone = self._zone(line, cells, number.digits)
        if zone is None:
            return None
        if not number.assigned:
            self.report.unassigned += 1
            if len(self.report.unassigned_lines) < MAX_UNASSIGNED_LINES:
                self.report.unassigned_lines.append(line)
            if self._normalise.region is not None:
                country = country_of(number.digits, self._normalise.region)
                if country not in self.report.unassigned_regions:
                    self.report.unassigned_regions.append(country)
        self.report.valid_rows += 1
        return (line, name, number.digits, description, *zone)


def _named_columns(header: list[str]) -> dict[str, int] | None:
    """Column → index when the header names name and phone (and only known columns)."""
    names = [HEADER_NAMES.get(cell.strip().lower()) for cell in header]
    if "name" not in names or "phone" not in names or None in names:
        return None
    if len(set(names)) != len(names):
        return None
    return {name: i for i, name in enumerate(names) if name is not None}


def _is_header(record: list[str]) -> bool:
    return len(record) >= 2 and not any(ch.isdigit() for ch in record[1])


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
