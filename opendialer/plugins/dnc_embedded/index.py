"""The number index moved to the SDK (:mod:`opendialer.sdk.number_index`) so every
DNC provider can use it; this name stays for the embedded provider's readers."""

from opendialer.sdk.number_index import NumberIndex, Numbers, sorted_unique

__all__ = ["NumberIndex", "Numbers", "sorted_unique"]
