"""A trade's structured reason: its text is the one users read, its fields are the numbers."""

from __future__ import annotations

import math

from poise.model import Reason, ReasonKind


def test_text_with_band_matches_the_worded_reason():
    r = Reason(ReasonKind.TO_TARGET, "sell to target", "JNJ", 0.127, 0.10, 0.025)
    assert str(r) == "JNJ 12.7% vs target 10.0% (band ±2.50pp): sell to target"


def test_text_without_band_or_with_an_infinite_one():
    r = Reason(ReasonKind.DEPOSIT, "buy with the deposit", "BND", 0.35, 0.4)
    assert str(r) == "BND 35.0% vs target 40.0%: buy with the deposit"
    r = Reason(ReasonKind.TO_BAND, "sell to band", "BND", 0.35, 0.4, math.inf)
    assert str(r) == "BND 35.0% vs target 40.0%: sell to band"


def test_note_follows_and_a_reason_without_weights_is_its_action():
    r = Reason(ReasonKind.TO_TARGET, "buy to target", "VTI", 0.5, 0.6, note="buys ITOT")
    assert str(r) == "VTI 50.0% vs target 60.0%: buy to target; buys ITOT"
    assert str(r.with_note("more")) == "VTI 50.0% vs target 60.0%: buy to target; buys ITOT; more"
    assert str(Reason(ReasonKind.HARVEST, "harvest a loss", "VTI")) == "harvest a loss"
