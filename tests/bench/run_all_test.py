"""bench/run_all.py: the suite's verdicts on issue 8's targets, from the reports it gathers."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import run_all  # noqa: E402


def write_reports(tmp_path, fp32, int8):
    """The four reports suite_targets reads, with the float-stem ratios given as (median, lo, hi)."""
    (tmp_path / "kernel-benchmarks.md").write_text(
        "## Goals\n\n| goal | result | this run |\n|---|---|---|\n"
        "| >= 40% of the ceiling on every stage | met | 56x56x64: 71.4 %, 28x28x128: 77.1 % |\n")
    net = ("## Targets\n\n| target | result | this run |\n|---|---|---|\n"
           "| at least 7x faster than PyTorch fp32 (eager, as briefed) | met | {:g}x (rounds {:g}–{:g}) |\n"
           "| faster than PyTorch int8 (onednn, NCHW input, as briefed) | met | {:g}x (rounds {:g}–{:g}) |\n")
    (tmp_path / "network-benchmarks.md").write_text(net.format(*fp32, *int8))
    (tmp_path / "network-benchmarks-int8-stem.md").write_text(net.format(12.0, 11.0, 13.0, 2.4, 2.3, 3.0))
    (tmp_path / "model-benchmarks.md").write_text("## Target\n\nEvery shipped model: **met** by all 4.\n")


def verdicts(tmp_path):
    table = run_all.suite_targets(str(tmp_path))
    return {line.split("|")[1].strip(): line.split("|")[2].strip() for line in table.splitlines()[2:]}


def test_a_ratio_is_met_only_when_every_round_meets_it(tmp_path):
    write_reports(tmp_path, fp32=(10.8, 9.6, 12.28), int8=(2.1, 2.05, 2.11))
    v = verdicts(tmp_path)
    assert v["Bi-Real-18-shaped network (float stem) >= 10x faster than PyTorch fp32 (eager)"] == \
        "**met by the median only** (worst round 9.6x)"
    assert v["Bi-Real-18-shaped network (float stem) >= 1.5x faster than PyTorch int8 (oneDNN)"] == "met"
    assert v["Bi-Real-18-shaped network (int8 stem) >= 10x faster than PyTorch fp32 (eager)"] == "met"
    assert v["binary 3x3 convolutions at >= 60 % of the popcount ceiling (AVX3_DL)"] == "met"
    assert v["every shipped model >= 5x faster than its float twin in PyTorch fp32"] == "met"


def test_a_median_below_the_target_is_missed(tmp_path):
    write_reports(tmp_path, fp32=(9.73, 9.28, 12.01), int8=(1.4, 1.3, 1.6))
    v = verdicts(tmp_path)
    assert v["Bi-Real-18-shaped network (float stem) >= 10x faster than PyTorch fp32 (eager)"] == "**missed**"
    assert v["Bi-Real-18-shaped network (float stem) >= 1.5x faster than PyTorch int8 (oneDNN)"] == "**missed**"


def test_a_missing_report_row_is_not_measured(tmp_path):
    write_reports(tmp_path, fp32=(10.0, 10.0, 10.0), int8=(2.0, 2.0, 2.0))
    (tmp_path / "network-benchmarks.md").write_text("## Targets\n\n(no rows)\n")
    v = verdicts(tmp_path)
    assert v["Bi-Real-18-shaped network (float stem) >= 10x faster than PyTorch fp32 (eager)"] == "not measured"
    assert v["Bi-Real-18-shaped network (float stem) >= 10x faster than PyTorch fp32 (eager)"] != "met"
