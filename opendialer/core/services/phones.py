"""One rule for every phone number the dialer stores: leads, DNC lists, their APIs.

A number is checked for its **shape** only — after removing ``( ) - .`` and spaces
(and a leading ``+``), 6 to 15 digits and nothing else (``5541810211xx`` is an
error, never converted) — and stored as **the digits that will be dialed**: E.164
without ``+`` (``"5541981021119"``). A number already carrying a country code
keeps it (``554183015031``, ``+55 (41) 98301-5031``); a national one gets the
default region's country code (``(41) 98102-1119`` with ``BR``); national and
international prefixes (``0``, ``00``, ``0xx41``) are removed as phonenumbers
parses them. Without a region (or when phonenumbers cannot place the number) the
digits are stored as written.

A number written without ``+`` that cannot be a number of the default region
because of its length (longer than any of its national numbers, or of a length its
plan has none of) but is a possible number read as international (``+`` and the
digits: it starts with a country code) is stored as that international number:
``554183015031`` with ``US`` is ``+55 41 8301-5031``, not ``+1 554183015031``. A
number written with a parenthesised area code (``(41) 98102-1119``) is national
and never read so; neither is a number too short for the region.

Whether phonenumbers' metadata calls the number *valid* (assigned in today's
numbering plan) is never a reason to refuse it — contact centers dial lists
written before a plan changed, and the metadata lags the regulators — it is only
reported: :attr:`PhoneNumber.assigned` is False, and imports count those numbers
as a warning.

``phonenumbers.parse`` + ``is_valid_number`` costs ~60 µs a number in pure Python:
a minute for a million-row lead list. Most lists hold clean digit strings, so
:class:`PhoneNormaliser` takes a fast path for them that gives *the same answer*
phonenumbers gives (digits and assigned or not), with the same metadata, ~10 times
faster (bench/leads_import.py prints both costs):

* only for digit strings (an optional leading ``+``) in a region whose country
  code belongs to it first (``BR``, ``US``, ``DE``… — not ``CA``, which shares
  ``+1`` with ``US`` as a secondary region);
* the number is either the region's national significant number, or its country code
  followed by one, decided exactly as phonenumbers' ``_maybe_extract_country_code``
  does (the general pattern of the region on the whole string and on the rest);
* any input where phonenumbers could strip an international or national prefix
  (the region's patterns match at its start), or where the national number starts
  with 0, goes to phonenumbers itself;
* "assigned" is phonenumbers' ``_number_type_helper`` — the general pattern and at
  least one number-type pattern, with their possible lengths — precompiled per
  length into one regular expression; for country codes shared by several regions,
  the region is picked as ``region_code_for_number`` picks it.

Everything else (``00`` or ``0`` prefixes, ``+`` with another country code…) takes
the slow path: phonenumbers itself. ``tests/test_leads_csv.py`` checks that both
paths agree on many thousands of generated inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata

from opendialer.core.services.errors import InvalidValue, problem_params

MIN_DIGITS = 6
MAX_DIGITS = 15
#: Longest text looked at (a phone column holding a paragraph is refused as such).
MAX_TEXT = 40
_SEPARATORS = str.maketrans("", "", " -.()")
#: Brazil's "0xx41": the trunk prefix 0, xx standing for the carrier the caller picks.
_CARRIER_PLACEHOLDER = re.compile(r"^0\s*[xX]{2}")


#: What a pilot number / caller ID may hold once separators are removed: these go
#: into SIP headers (Refer-To, From, P-Asserted-Identity) as a URI's user part.
_DIAL_STRING = re.compile(r"\+?[0-9]{1,32}")
_DIAL_STRING_KEYS = re.compile(r"\+?[0-9*#]{1,32}")
#: A SIP user name (dialer port): safe bare in a URI's user part and in a digest
#: ``username="…"`` — no ; ? / @ : quotes, parentheses, %, spaces or CR/LF.
SIP_USER_NAME = re.compile(r"^[A-Za-z0-9_.!~*&=+$,-]+$")


class InvalidPhone(InvalidValue):
    """The text is not a phone number's shape; ``str()`` says why, for a person."""


class PhoneNumber(NamedTuple):  # a tuple: made a million times an import
    digits: str  # what will be dialed: E.164 without "+" when the region is known
    assigned: bool  # phonenumbers' metadata calls it valid (a warning when not)


def shape(raw: str) -> tuple[bool, str]:
    """``(had a leading +, the digits)`` of ``raw``, or :class:`InvalidPhone` saying why.

    The reason does not repeat the text: callers say ``invalid phone number 'x': why``.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhone("phone.empty")
    if len(text) > MAX_TEXT:
        raise InvalidPhone("phone.text_too_long", n=MAX_TEXT)
    if text[0] == "0" and text[1:2] in ("x", "X", " "):
        text = _CARRIER_PLACEHOLDER.sub("0", text)
    compact = text.translate(_SEPARATORS)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidPhone("phone.characters")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidPhone("phone.digit_count", n=len(digits), low=MIN_DIGITS, high=MAX_DIGITS)
    return plus, digits


_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


class _RegionCheck:
    """``_number_type_helper(nsn, metadata) != UNKNOWN`` for one region, by length."""

    def __init__(self, md: PhoneMetadata) -> None:
        self.leading_digits = re.compile(md.leading_digits) if md.leading_digits else None
        general = md.general_desc
        self._by_length: dict[int, re.Pattern[str] | None] = {}
        self._general = (
            (set(general.possible_length or ()), general.national_number_pattern)
            if general is not None
            else (set(), None)
        )
        self._types = []
        for name in _TYPE_DESCS:
            if name == "mobile" and md.same_mobile_and_fixed_line_pattern:
                continue  # phonenumbers never tests it then
            desc = getattr(md, name, None)
            if desc is None or not desc.national_number_pattern:
                continue
            self._types.append((set(desc.possible_length or ()), desc.national_number_pattern))

    def _compiled(self, length: int) -> re.Pattern[str] | None:
        if length not in self._by_length:
            lengths, general = self._general
            alternatives = [p for lens, p in self._types if not lens or length in lens]
            if (lengths and length not in lengths) or not general or not alternatives:
                self._by_length[length] = None
            else:
                types = "|".join(f"(?:{p})" for p in alternatives)
                self._by_length[length] = re.compile(f"(?=(?:{general})$)(?:{types})")
        return self._by_length[length]

    def valid(self, nsn: str) -> bool:
        pattern = self._compiled(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    country_code: str
    general: re.Pattern[str]
    max_length: int
    possible_lengths: frozenset[int]  # the general pattern's, local-only ones included
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    checks: tuple[_RegionCheck, ...]  # every region sharing the country code, in order


@lru_cache(maxsize=64)
def _region(code: str) -> _Region | None:
    """The fast path's view of a region, or None when the fast path does not apply."""
    md = PhoneMetadata.metadata_for_region(code, None)
    if md is None or md.country_code is None:
        return None
    if phonenumbers.region_code_for_country_code(md.country_code) != code:
        return None
    general = md.general_desc
    if general is None or not general.national_number_pattern or not general.possible_length:
        return None
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(md.country_code, ())
    checks = []
    for region in regions:
        region_md = PhoneMetadata.metadata_for_region(region, None)
        if region_md is not None:
            checks.append(_RegionCheck(region_md))
    return _Region(
        code=code,
        country_code=str(md.country_code),
        general=re.compile(general.national_number_pattern),
        max_length=max(general.possible_length),
        possible_lengths=frozenset(general.possible_length)
        | frozenset(general.possible_length_local_only or ()),
        international_prefix=re.compile(md.international_prefix)
        if md.international_prefix
        else None,
        national_prefix=re.compile(md.national_prefix_for_parsing)
        if md.national_prefix_for_parsing
        else None,
        checks=tuple(checks),
    )


def _valid_nsn(region: _Region, nsn: str) -> bool:
    """``is_valid_number`` for ``+<country code><nsn>``, as phonenumbers decides it."""
    if len(region.checks) == 1:
        return region.checks[0].valid(nsn)
    for check in region.checks:  # region_code_for_number's choice, then validity there
        if check.leading_digits is not None:
            if check.leading_digits.match(nsn):
                return check.valid(nsn)
        elif check.valid(nsn):
            return True
    return False


def _fast(region: _Region, plus: bool, digits: str) -> PhoneNumber | None:
    """phonenumbers' answer for clean digits, or None (the fast path cannot decide)."""
    cc = region.country_code
    if plus:
        if not digits.startswith(cc):
            return None
        nsn = digits[len(cc) :]
    else:
        if region.international_prefix is not None and region.international_prefix.match(digits):
            return None
        nsn = digits
        if digits.startswith(cc):
            rest = digits[len(cc) :]
            if region.national_prefix is not None and region.national_prefix.match(rest):
                return None
            whole_is_national = region.general.fullmatch(digits) is not None
            if (not whole_is_national and region.general.fullmatch(rest)) or (
                len(digits) > region.max_length
            ):
                nsn = rest
            elif not whole_is_national:
                return None
    if not nsn or nsn[0] == "0" or len(nsn) < 2:
        return None
    if not plus and len(nsn) not in region.possible_lengths:
        return None  # perhaps an international number written without "+": _slow reads it
    if region.national_prefix is not None and region.national_prefix.match(nsn):
        return None
    if len(cc) + len(nsn) > MAX_DIGITS:
        return None
    return PhoneNumber(cc + nsn, _valid_nsn(region, nsn))


_NOT_OF_THE_REGION = (
    phonenumbers.ValidationResult.TOO_LONG,
    phonenumbers.ValidationResult.INVALID_LENGTH,
)


def _international(number: phonenumbers.PhoneNumber, digits: str) -> phonenumbers.PhoneNumber:
    """``digits`` read as ``+digits`` when ``number`` (read in the default region)
    cannot be one of the region for its length and the international reading can be."""
    if phonenumbers.is_possible_number_with_reason(number) not in _NOT_OF_THE_REGION:
        return number
    try:
        international = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return number
    return international if phonenumbers.is_possible_number(international) else number


def _slow(plus: bool, digits: str, region: str | None, national: bool = False) -> PhoneNumber:
    try:
        number = phonenumbers.parse(("+" if plus else "") + digits, region)
    except phonenumbers.NumberParseException:
        return PhoneNumber(digits, False)  # no country to place it in: dialed as written
    if not plus and not national and region is not None:
        number = _international(number, digits)
    dialed = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    if len(dialed) > MAX_DIGITS:
        raise InvalidPhone(
            "phone.too_long_with_country_code",
            n=len(dialed),
            cc=f"+{number.country_code}",
            high=MAX_DIGITS,
        )
    return PhoneNumber(dialed, phonenumbers.is_valid_number(number))


def normalise_slow(raw: str, region: str | None) -> PhoneNumber:
    """The rule with phonenumbers itself deciding (the reference the fast path matches)."""
    plus, digits = shape(raw)
    return _slow(plus, digits, region, _written_national(raw))


def _written_national(raw: str) -> bool:
    """``(41) 98102-1119``: a parenthesised area code, a national number."""
    return raw.lstrip().startswith("(")


def normalise(raw: str, region: str | None) -> PhoneNumber:
    """One number (a form field, an API body); :class:`InvalidPhone` when not a number."""
    return PhoneNormaliser(region)(raw)


def country_of(digits: str, read_in: str) -> str:
    """The region of a number as stored (E.164 digits) when it was read in the region
    ``read_in``: ``read_in`` itself when it shares the number's country code (+1 read in
    ``CA`` is Canada, not the code's main region), else the code's main region
    (``554183015031`` read in ``US`` is ``BR``), or ``read_in`` when the digits start
    with no country code."""
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return read_in
    if parsed.country_code is None:
        return read_in
    if read_in in phonenumbers.region_codes_for_country_code(parsed.country_code):
        return read_in
    region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return read_in if region == phonenumbers.UNKNOWN_REGION else region


def problem(raw: str, exc: InvalidPhone) -> InvalidValue:
    """The problem of a line: ``invalid phone number '41 9810-11xx': why``."""
    return InvalidValue("phone.invalid", phone=repr(raw.strip()[:MAX_TEXT]), **problem_params(exc))


class PhoneNormaliser:
    """Normalise many numbers of one default region; counts which path decided.

    ``region`` None (or one phonenumbers does not know): numbers without ``+`` are
    kept as written.
    """

    def __init__(self, region: str | None) -> None:
        known = region is not None and region in phonenumbers.SUPPORTED_REGIONS
        self.region = region if known else None
        self._fast_region = _region(region) if known and region is not None else None
        self.fast = 0
        self.slow = 0

    def __call__(self, raw: str) -> PhoneNumber:
        """The number to store, or :class:`InvalidPhone` saying why it is not one."""
        plus, digits = shape(raw)
        if self._fast_region is not None:
            result = _fast(self._fast_region, plus, digits)
            if result is not None:
                self.fast += 1
                return result
        self.slow += 1
        return _slow(plus, digits, self.region, _written_national(raw))


def dial_string(raw: str, *, keys: bool = False) -> str | None:
    """A pilot number (``keys``: ``*`` and ``#`` allowed) or caller ID, compact; None
    when it is not one.

    Separators ``( ) - .`` and spaces are removed; what remains must be digits with an
    optional leading ``+`` (and ``*``/``#`` with ``keys``), 1 to 32 of them — so no
    CR/LF, ``<>``, ``;``, ``@``, ``?``… can reach a SIP header.
    """
    compact = raw.strip().translate(_SEPARATORS)
    return compact if is_dial_string(compact, keys=keys) else None


def is_dial_string(value: str, *, keys: bool = False) -> bool:
    """Whether a stored value may go on the wire as it is (the SIP plugin checks)."""
    return (_DIAL_STRING_KEYS if keys else _DIAL_STRING).fullmatch(value) is not None
