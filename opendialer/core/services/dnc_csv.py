"""Reading a Do-Not-Call list file: one number per line, streamed.

The file is read line by line (a 10-million-line file is never held whole);
numbers come out as one ``int64`` array of E.164 digits. Two formats:

* ``"phone"`` (default): each line is normalised exactly like a lead's phone
  (:class:`~opendialer.core.services.phones.PhoneNormaliser`: checked for its
  shape only, stored as the digits that will be dialed) — national numbers take
  the given region's country code, so ``(41) 98102-1119`` with region ``BR``
  becomes ``5541981021119``, the number a lead written the same way gets.
* ``"e164"``: each line must already be E.164 digits (optional ``+``). About
  ten times faster; meant for national registry files and machine exports.

An optional header line (line 1 with no digits) and blank lines are skipped. Lines
may end in LF, CRLF or (old Mac exports) a lone CR.
A line may carry more CSV columns (``number,comment``): the first one counts.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt
import phonenumbers

from opendialer.core.services.errors import InvalidValue
from opendialer.core.services.leads_csv import with_line_ends
from opendialer.core.services.phones import InvalidPhone, PhoneNormaliser, problem

NumberFormat = Literal["phone", "e164"]
NUMBER_FORMATS: tuple[str, ...] = ("phone", "e164")
#: Invalid lines kept with their text and reason; the rest are only counted.
MAX_REPORTED_INVALID = 100
#: Numbers per array of the line-by-line path.
CHUNK_LINES = 50_000
#: Bytes read at a time (a progress report each).
BLOCK_BYTES = 1 << 21
E164_MIN_DIGITS = 8
E164_MAX_DIGITS = 15

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass(frozen=True, slots=True)
class InvalidLine:
    line: int
    text: str
    problem: InvalidValue

    @property
    def reason(self) -> str:
        return str(self.problem)

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "text": self.text,
            "reason": self.reason,
            "code": self.problem.code,
            "params": self.problem.params,
        }


@dataclass
class ParsedList:
    numbers: npt.NDArray[np.int64]
    lines: int = 0
    invalid_count: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)


def normalise_e164(text: str) -> int:
    """``554181021119`` or ``+554181021119`` → 554181021119, or ``ValueError``."""
    digits = text[1:] if text.startswith("+") else text
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidValue("dnc_line.e164_characters")
    if not E164_MIN_DIGITS <= len(digits) <= E164_MAX_DIGITS or digits[0] == "0":
        raise InvalidValue("dnc_line.e164_length", low=E164_MIN_DIGITS, high=E164_MAX_DIGITS)
    return int(digits)


def _first_field(raw: str) -> str:
    for separator in (",", ";", "\t"):
        if separator in raw:
            raw = raw.split(separator, 1)[0]
            break
    return raw.strip().strip('"').strip()


def parse_numbers(
    source: Path | bytes | BinaryIO,
    *,
    region: str,
    number_format: NumberFormat = "phone",
    progress: Progress | None = None,
) -> ParsedList:
    """Parse a whole list (blocking: call it in a worker thread)."""
    if number_format not in NUMBER_FORMATS:
        raise InvalidValue("dnc.number_format_invalid", formats=", ".join(NUMBER_FORMATS))
    if number_format == "phone" and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue("dnc.region_invalid", region=region)
    region = region.upper()
    if isinstance(source, Path):
        total = source.stat().st_size
        with source.open("rb") as stream:
            return _parse_stream(stream, total, region, number_format, progress)
    if isinstance(source, bytes):
        return _parse_stream(io.BytesIO(source), len(source), region, number_format, progress)
    return _parse_stream(source, 0, region, number_format, progress)


def _parse_stream(
    stream: BinaryIO,
    total: int,
    region: str,
    number_format: NumberFormat,
    progress: Progress | None,
) -> ParsedList:
    stream = with_line_ends(stream)  # old-Mac CR-only files too
    result = ParsedList(numbers=np.empty(0, dtype=np.int64))
    chunks: list[npt.NDArray[np.int64]] = []
    one_line = _LineParser(region, number_format, result)
    read = 0
    lines_before = 0
    while block := stream.read(BLOCK_BYTES):
        if not block.endswith(b"\n"):
            block += stream.readline()  # blocks end at a line's end
        read += len(block)
        if lines_before == 0 and block.startswith(b"\xef\xbb\xbf"):
            block = block[3:]
        if not block.endswith(b"\n"):
            block += b"\n"  # the last line may lack its newline
        if number_format == "e164":
            values, others = _e164_block(block)
            chunks.append(values)
            for index, start, end in others:
                one_line.parse(lines_before + index + 1, block[start:end], chunks)
            lines_before += block.count(b"\n")
        else:
            for raw in block.split(b"\n")[:-1]:
                lines_before += 1
                one_line.parse(lines_before, raw, chunks)
        one_line.flush(chunks)
        if progress is not None:
            progress(read, total)
    if progress is not None:
        progress(read, total or read)
    result.lines = lines_before
    if chunks:
        result.numbers = np.concatenate(chunks)
    return result


class _LineParser:
    """One line at a time: headers, CSV columns, phonenumbers, the error messages."""

    def __init__(self, region: str, number_format: NumberFormat, result: ParsedList) -> None:
        self.region = region
        self.number_format = number_format
        self.result = result
        self.like_leads = PhoneNormaliser(region)
        self.pending: list[int] = []

    def parse(self, line_no: int, raw_bytes: bytes, chunks: list[npt.NDArray[np.int64]]) -> None:
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            _invalid(self.result, line_no, repr(raw_bytes[:40]), InvalidValue("dnc_line.not_utf8"))
            return
        text = _first_field(raw)
        if not text:
            return
        if line_no == 1 and not any(c.isdigit() for c in text):
            return  # a header such as "number" or "phone"
        try:
            if self.number_format == "e164":
                self.pending.append(normalise_e164(text))
            else:
                self.pending.append(int(self.like_leads(text).digits))
        except InvalidPhone as exc:
            _invalid(self.result, line_no, text, problem(text, exc))  # as a lead's
            return
        except InvalidValue as exc:
            _invalid(self.result, line_no, text, exc)
            return
        if len(self.pending) >= CHUNK_LINES:
            self.flush(chunks)

    def flush(self, chunks: list[npt.NDArray[np.int64]]) -> None:
        if self.pending:
            chunks.append(np.array(self.pending, dtype=np.int64))
            self.pending = []


_POWERS = 10 ** np.arange(E164_MAX_DIGITS - 1, -1, -1, dtype=np.int64)


def _e164_block(
    block: bytes,
) -> tuple[npt.NDArray[np.int64], list[tuple[int, int, int]]]:
    """Vectorised E.164 lines of ``block`` (which ends with a newline).

    Returns the values of the lines that are plain digits (optional ``+``, 8-15
    digits, not starting with 0) and ``(index, start, end)`` of every other line,
    for the line-by-line path to skip (blank, header) or report.
    """
    buf = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    last = buf.size - 1
    ends = ends - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13))  # drop a \r
    digits_from = starts + ((ends > starts) & (buf[np.minimum(starts, last)] == 43))  # a +
    lengths = ends - digits_from
    non_digit = np.zeros(buf.size + 1, dtype=np.int32)  # a block is far below 2**31 bytes
    np.cumsum((buf < 48) | (buf > 57), out=non_digit[1:], dtype=np.int32)
    ok = (
        (non_digit[ends] == non_digit[digits_from])
        & (lengths >= E164_MIN_DIGITS)
        & (lengths <= E164_MAX_DIGITS)
        & (buf[np.minimum(digits_from, last)] != 48)
    )
    good_ends = ends[ok]
    # Right-aligned digit matrix: row = line, column = power of ten.
    positions = good_ends[:, None] - E164_MAX_DIGITS + np.arange(E164_MAX_DIGITS)
    inside = positions >= digits_from[ok][:, None]
    digits = np.where(inside, buf[np.clip(positions, 0, last)].astype(np.int64) - 48, 0)
    values = digits @ _POWERS
    others = [(int(i), int(starts[i]), int(ends[i])) for i in np.flatnonzero(~ok)]
    return values, others


def _invalid(result: ParsedList, line: int, text: str, reason: InvalidValue) -> None:
    result.invalid_count += 1
    if len(result.invalid) < MAX_REPORTED_INVALID:
        result.invalid.append(InvalidLine(line=line, text=text[:80], problem=reason))
