"""Governor's token capacity estimate follows a shift in prompt and response lengths.

A pinned fleet (the count cannot move, only the estimate) serves constant load whose requests
turn from long documents into short chats, or back; five minutes after the shift the policy's
requests/s per replica within the ITL objective must be within 10 % of the simulator's value for
the new lengths. Before the shift it is far off for the new lengths, so the check can fail.
"""

from __future__ import annotations

import pytest

from governor.sim.tokens.shift import run_shift


@pytest.mark.parametrize("to_chat", [True, False], ids=["documents-to-chat", "chat-to-documents"])
def test_capacity_estimate_within_ten_percent_five_minutes_after_a_length_shift(to_chat: bool) -> None:
    result = run_shift(seed=0, to_chat=to_chat)
    assert result.error_at(0.0) > 0.5  # the old lengths' estimate is far from the new truth
    assert result.error_at(300.0) < 0.10
