"""Call-progress plans and generators, checked by measuring the generated audio."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.dsp import tones
from firmware.dsp.level import rms_dbm0
from firmware.errors import UsageError

RATE = 8000
FRAME = 40  # 5 ms


def on_off_runs(x: np.ndarray) -> list[tuple[bool, float]]:
    """(tone on?, ms) runs of a signal, from 5 ms frame energies."""
    frames = x[: len(x) // FRAME * FRAME].astype(float).reshape(-1, FRAME)
    on = (np.abs(frames).max(axis=1) > 100).tolist()
    runs: list[tuple[bool, float]] = []
    for state in on:
        if runs and runs[-1][0] == state:
            runs[-1] = (state, runs[-1][1] + 5.0)
        else:
            runs.append((state, 5.0))
    return runs


def peak_freqs(x: np.ndarray, count: int) -> list[float]:
    spec = np.abs(np.fft.rfft(x.astype(float) * np.hanning(len(x)), 8 * len(x)))
    freqs = np.fft.rfftfreq(8 * len(x), 1.0 / RATE)
    found: list[float] = []
    for _ in range(count):
        k = int(np.argmax(spec))
        found.append(float(freqs[k]))
        spec[np.abs(freqs - freqs[k]) < 15.0] = 0  # past the Hann main lobe (>= 200 ms)
    return sorted(found)


def test_every_country_has_every_kind() -> None:
    assert set(tones.COUNTRIES) == {"us", "tw", "cn", "uk", "de", "jp"}
    for country in tones.COUNTRIES:
        assert set(tones.PLANS[country]) == set(tones.KINDS)
        for kind in tones.KINDS:
            x = tones.call_progress(kind, country, 1500)
            assert x.dtype == np.int16 and len(x) == 12000
            assert np.abs(x).max() > 1000


@pytest.mark.parametrize(
    "country,kind,freqs",
    [
        ("us", "dial", [350, 440]), ("us", "ringback", [440, 480]), ("us", "busy", [480, 620]),
        ("uk", "dial", [350, 450]), ("uk", "ringback", [400, 450]), ("uk", "busy", [400]),
        ("cn", "dial", [450]), ("de", "reorder", [425]), ("jp", "dial", [400]),
        ("tw", "reorder", [480, 620]), ("de", "fax_cng", [1100]), ("jp", "fax_ced", [2100]),
    ],
)
def test_frequencies(country: str, kind: str, freqs: list[float]) -> None:
    x = tones.call_progress(kind, country, 200)  # inside the first on burst
    assert peak_freqs(x, len(freqs)) == pytest.approx(freqs, abs=2.0)


@pytest.mark.parametrize(
    "country,kind,cadence",
    [
        ("us", "busy", [500, 500]), ("us", "reorder", [250, 250]),
        ("us", "ringback", [2000, 4000]), ("tw", "ringback", [1000, 2000]),
        ("cn", "busy", [350, 350]), ("cn", "reorder", [700, 700]),
        ("cn", "ringback", [1000, 4000]), ("uk", "ringback", [400, 200, 400, 2000]),
        ("uk", "busy", [375, 375]), ("uk", "reorder", [400, 350, 225, 525]),
        ("de", "busy", [480, 480]), ("de", "reorder", [240, 240]),
        ("jp", "busy", [500, 500]), ("jp", "reorder", [500, 500]), ("us", "fax_cng", [500, 3000]),
    ],
)
def test_cadence_as_measured(country: str, kind: str, cadence: list[float]) -> None:
    cycle = sum(cadence)
    runs = on_off_runs(tones.call_progress(kind, country, 2 * cycle))
    measured = [ms for _, ms in runs]
    assert [state for state, _ in runs][0] is True
    expected = (cadence * 2)
    assert measured == pytest.approx(expected, abs=10.0)


def test_jp_ringback_is_400hz_modulated_at_16hz() -> None:
    x = tones.call_progress("ringback", "jp", 1000).astype(float)
    envelope = np.abs(x).reshape(-1, 20).max(axis=1)  # 2.5 ms peaks -> 400 Hz envelope rate
    spec = np.abs(np.fft.rfft(envelope - envelope.mean()))
    freqs = np.fft.rfftfreq(len(envelope), 20 / RATE)
    assert freqs[np.argmax(spec)] == pytest.approx(tones.JP_RINGBACK_MOD_HZ, abs=1.5)
    assert envelope.min() < 0.3 * envelope.max()
    assert rms_dbm0(x) == pytest.approx(-13.0, abs=0.3)  # modulation keeps the level


@pytest.mark.parametrize("country,segments", [("us", tones.SIT_US), ("de", tones.SIT_ITU)])
def test_sit_three_rising_segments(country: str, segments: tuple) -> None:
    x = tones.call_progress("sit", country, 1200)
    pos = 0
    for hz, ms in segments:
        n = int(ms * RATE / 1000)
        seg = x[pos + 80: pos + n - 80]
        assert peak_freqs(seg, 1)[0] == pytest.approx(hz, abs=3.0)
        pos += n
    assert not x[pos:].any()  # then the pause


def test_fax_ced_is_played_once() -> None:
    x = tones.call_progress("fax_ced", "us", 5000)
    runs = on_off_runs(x)
    assert runs == [(True, pytest.approx(tones.FAX_CED_MS, abs=5)),
                    (False, pytest.approx(5000 - tones.FAX_CED_MS, abs=5))]


def test_beep_then_silence() -> None:
    x = tones.call_progress("beep", "tw", 1000)
    assert len(x) == 8000
    assert peak_freqs(x[:3200], 1)[0] == pytest.approx(1000, abs=2)
    assert not x[3200:].any()


def test_level_is_per_component() -> None:
    x = tones.call_progress("dial", "us", 1000, dbm0=-20)
    assert rms_dbm0(x) == pytest.approx(-20 + 10 * np.log10(2), abs=0.1)
    assert rms_dbm0(tones.call_progress("dial", "de", 1000, dbm0=-6)) == pytest.approx(-6, abs=0.1)


def test_render_detune_scales_frequencies() -> None:
    x = tones.render(tones.PLANS["us"]["dial"], 500, detune=1.015)
    assert peak_freqs(x, 2) == pytest.approx([350 * 1.015, 440 * 1.015], abs=2.0)


def test_ring_cadences() -> None:
    assert tones.RING_CADENCES == {
        "us": (2000, 4000), "uk": (400, 200, 400, 2000), "de": (1000, 4000),
        "tw": (1000, 2000), "cn": (1000, 4000), "jp": (1000, 2000),
    }


def test_unknown_country_or_kind_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="unknown country 'fr'.*us, tw, cn, uk, de, jp"):
        tones.call_progress("busy", "fr", 1000)
    with pytest.raises(UsageError, match="unknown tone 'howler'.*dial, ringback, busy"):
        tones.call_progress("howler", "us", 1000)
    assert tones.check_country(" UK ") == "uk"


def test_lead_generators_unchanged() -> None:
    x = tones.dtmf("1#", on_ms=50, off_ms=50)
    assert len(x) == 4 * 400
    assert peak_freqs(x[:400], 2) == pytest.approx([697, 1209], abs=3)
    assert len(tones.silence(20)) == 160 and len(tones.beep(100)) == 800
    assert tones.sine_mix([1000], 10).dtype == np.int16
