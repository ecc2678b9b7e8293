"""Answer audio with seconds missing is not judged (docs/performance.md, "AMD streams on
one engine"): a node that falls ~5 s behind loses RTP in its full socket buffers, and
the detector would take the greeting with a hole in it for the whole greeting — a
machine whose beep was lost called HUMAN. A scripted far end streams a loud greeting
with packets left out; the platform counts them from the RTP sequence numbers."""

from __future__ import annotations

import pytest
from sip_helpers import EnergyAmd, call_request, running_platform, sip_config
from sip_scripted_far_end import loud_audio

from opendialer.plugins.platform_sip.call import AMD_MAX_LOST_PACKETS
from opendialer.sdk import AmdLabel

pytestmark = pytest.mark.timeout(60)

FAST = {"t1_s": 0.1, "t4_s": 0.5, "amd_max_s": 6.0, "transfer_timeout_s": 5.0}
GREETING = loud_audio(4.0)  # 200 packets: voiced for more than 2 s is MACHINE (EnergyAmd)


async def test_a_second_of_lost_audio_ends_the_analysis_as_notsure(far_end) -> None:
    lost = range(20, 20 + AMD_MAX_LOST_PACKETS + 10)  # 1.2 s missing, 0.4 s in
    uas = await far_end(rtp=GREETING, rtp_lost=lost)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.amd is not None, outcome
    assert outcome.amd.label is AmdLabel.NOTSURE, outcome.amd
    assert outcome.amd.reasons.startswith(f"audio lost: {len(lost)} RTP packets"), outcome.amd
    # judged on what arrived before the hole and the first batch after it
    assert outcome.amd.decision_ms <= 1000, outcome.amd


async def test_a_few_lost_packets_leave_the_verdict_to_the_detector(far_end) -> None:
    """Network loss of a packet here and there: the same greeting is judged."""
    lost = range(20, 20 + AMD_MAX_LOST_PACKETS - 1, 7)
    uas = await far_end(rtp=GREETING, rtp_lost=lost)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.amd is not None, outcome
    assert outcome.amd.label is AmdLabel.MACHINE, outcome.amd
