"""Example connector: a national Do-Not-Call registry distributed as files.

National lists (US National DNC, UK TPS, Brazil's Não Me Perturbe) are
published as bulk files — a full copy now and then, change files in between —
not as a per-number API. This connector imports them into a local in-memory
index and reports itself out of service when its newest data is older than
``max_age_days`` (the US rule is 31 days), so a dialer never calls on stale data.

Enable it by naming ``opendialer.contrib.national_registry.plugin`` in an
entry point of the ``opendialer`` group (see ``docs/dnc.md``), or copy this
folder into your own connector package.
"""

from opendialer.contrib.national_registry.provider import NationalRegistryProvider, RegistryFiles

__all__ = ["NationalRegistryProvider", "RegistryFiles"]
