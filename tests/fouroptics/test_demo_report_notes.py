"""The demo report's notes (#20): a full run where SCLC+KD is below SCLC says why, a quick run
says its numbers are not results, and the MAC counts say what each counts."""

from __future__ import annotations

from fouroptics.commands.demo import FULL, QUICK
from fouroptics.commands.demo_report import advantage_table, macs_note, run_note

ROWS = [
    {"row": "teacher CNN", "accuracy": 0.993, "electronic_macs": 3_043_200},
    {"row": "SCLC", "accuracy": 0.999, "electronic_macs": 30_432},
    {"row": "SCLC+KD", "accuracy": 0.9945, "electronic_macs": 30_432},
]
ESTIMATE = {"hardware_estimate": {"digital_sclc_macs": 204_739, "electronic_readout_macs": 211_344,
                                  "electronic_head_macs": 28_864}}  # fmt: skip


def test_a_full_run_with_kd_below_sclc_says_why() -> None:
    text = run_note(ROWS, FULL, {"quick": False}, "intensity")
    assert "SCLC+KD is below SCLC here (99.45 % against 99.90 %)" in text
    assert "square law" in text and "one training seed" in text
    kd_above = [ROWS[0], ROWS[1], {**ROWS[2], "accuracy": 0.9995}]
    assert "below SCLC" not in run_note(kd_above, FULL, {"quick": False}, "intensity")
    assert "square law" not in run_note(ROWS, FULL, {"quick": False}, "ideal")


def test_a_quick_run_says_its_numbers_are_not_results() -> None:
    text = run_note(ROWS, QUICK, {"quick": True}, "intensity")
    assert "its numbers are not results" in text and "make demo" in text
    assert f"{QUICK.simulate} images (one image is 1 point)" in text


def test_the_mac_counts_say_what_they_count() -> None:
    text = macs_note(ROWS, ESTIMATE)
    assert "the teacher CNN all of it (3,043,200)" in text
    assert "the SCLC rows their detection and head only (30,432)" in text
    assert (
        "(211,344 + 28,864)" in text and "digital_sclc_macs (204,739) is another quantity" in text
    )
    assert "digital_sclc_macs" not in macs_note(ROWS, None)


def test_the_advantage_table_sets_the_optical_run_beside_the_digital_ones() -> None:
    he = {
        "digital_sclc_macs": 760_503, "digital_teacher_macs": 3_043_200,
        "frames_per_inference": 5, "inferences_per_s": 12.0,
        "electronic_macs_per_inference": 145_000, "electronic_readout_macs": 31_464,
        "electronic_readout": "filter", "electronic_head_macs": 113_536,
        "photons_per_optical_mac": 0.25,
    }  # fmt: skip
    sim = {"hardware_estimate": he, "encoding": "phase-multi", "bench": "b/misaligned_noisy.yaml"}
    lines = advantage_table(sim)
    assert lines[2] == "| teacher CNN, digital |  |  | 3,043,200 |  |"
    assert "| 760,503 |" in lines[3]
    assert lines[4] == (
        "| SCLC, optical (phase-multi on misaligned_noisy) | 5 | 12 | 145,000 (readout 31,464, "
        "filter; head 113,536) | 0.25 |"
    )
