"""Phone numbers → E.164 digits without ``+`` (``"5541981021119"``), as phonenumbers decides.

``phonenumbers.parse`` + ``is_valid_number`` costs ~60 µs a number in pure Python:
a minute for a million-row lead list. Most lists hold clean digit strings, so
:class:`PhoneNormaliser` takes a fast path for them that makes *the same decision*
phonenumbers makes, with the same metadata, ~10 times faster
(bench/leads_import.py prints both costs):

* only for digit strings (spaces, ``-``, ``.``, ``(``, ``)`` removed; an optional
  leading ``+``) in a region whose country code belongs to it first (``BR``, ``US``,
  ``DE``… — not ``CA``, which shares ``+1`` with ``US`` as a secondary region);
* the number is either the region's national significant number, or its country code
  followed by one, decided exactly as phonenumbers' ``_maybe_extract_country_code``
  does (the general pattern of the region on the whole string and on the rest);
* any input where phonenumbers could strip an international or national prefix
  (the region's patterns match at its start), or where the national number starts
  with 0, goes to phonenumbers itself;
* validity is phonenumbers' ``_number_type_helper`` — the general pattern and at
  least one number-type pattern, with their possible lengths — precompiled per
  length into one regular expression; for country codes shared by several regions,
  the region is picked as ``region_code_for_number`` picks it.

Everything else (letters, other separators, ``00`` or ``0`` prefixes…) takes the
slow path: phonenumbers itself. ``tests/test_leads_csv.py`` checks that both paths
agree on many thousands of generated inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata

_SEPARATORS = str.maketrans("", "", " -.()")
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


def _fast(region: _Region, raw: str) -> str | bool | None:
    """E.164 digits, False (invalid), or None (the fast path cannot decide)."""
    text = raw.translate(_SEPARATORS)
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit() or not digits.isascii() or not 2 <= len(digits) <= 17:
        return None
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
    if region.national_prefix is not None and region.national_prefix.match(nsn):
        return None
    return cc + nsn if _valid_nsn(region, nsn) else False


def normalise_slow(raw: str, region: str) -> str | None:
    """phonenumbers' own answer: E.164 digits, or None when the number is not valid."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


class PhoneNormaliser:
    """Normalise many numbers of one default region; counts which path decided."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._fast_region = _region(region)
        self.fast = 0
        self.slow = 0

    def __call__(self, raw: str) -> str | None:
        if self._fast_region is not None:
            result = _fast(self._fast_region, raw)
            if result is not None:
                self.fast += 1
                return result if isinstance(result, str) else None
        self.slow += 1
        return normalise_slow(raw, self.region)
