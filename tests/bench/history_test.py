"""bench/history.py: the run ledger built from the committed versions of docs/benchmarks.md."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import history  # noqa: E402


def report(started, cpu="Intel(R) Xeon(R) Processor (family 6, model 167, stepping 1)", commit="a" * 40,
           int8_stem=True, layer1="74.5"):
    lines = [
        "# Benchmarks", "", "## Machine and build", "",
        f"- CPU: {cpu}, 2 logical CPUs; SIMD flags: avx2",
        f"- Commit {commit}; started {started}; load average 0.88 at the start, 1.00 at the end", "",
        "## Targets of the suite", "",
        "| target (issue 8) | result | this run |", "|---|---|---|",
        "| binary 3x3 convolutions at >= 60 % of the popcount ceiling (AVX3_DL) | met | "
        f"56x56x64: {layer1} %, 28x28x128: 93.2 %, 14x14x256: 102.9 %, 7x7x512: 107.8 % |",
        "| Bi-Real-18-shaped network (float stem) >= 10x faster than PyTorch fp32 (eager) | **missed** | "
        "9.38x (rounds 9.29–9.47) |",
        "| Bi-Real-18-shaped network (float stem) >= 1.5x faster than PyTorch int8 (oneDNN) | **missed** | 1.45x |",
    ]
    if int8_stem:
        lines += [
            "| Bi-Real-18-shaped network (int8 stem) >= 10x faster than PyTorch fp32 (eager) | met | 11.2x |",
            "| Bi-Real-18-shaped network (int8 stem) >= 1.5x faster than PyTorch int8 (oneDNN) | met | 1.64x |"]
    return "\n".join(lines) + "\n"


def test_parse_reads_the_machine_commit_and_figures():
    row = history.parse(report("2026-12-02 17:35 UTC", commit="dc2b0b6" + "0" * 33 + " (with uncommitted changes)"))
    assert row["cpu"] == "Intel(R) Xeon(R) Processor (family 6, model 167 stepping 1)"
    assert row["measured"] == "dc2b0b6+"
    assert row["started"] == "2026-12-02 17:35 UTC"
    assert row["56x56x64 % of ceiling"] == "74.5"
    assert row["7x7x512 % of ceiling"] == "107.8"
    assert (row["float stem vs fp32"], row["float stem vs int8"]) == ("9.38", "1.45")
    assert (row["int8 stem vs fp32"], row["int8 stem vs int8"]) == ("11.2", "1.64")


def test_a_missing_figure_is_a_dash_and_a_report_without_a_machine_is_skipped():
    row = history.parse(report("2026-12-01 23:34 UTC", int8_stem=False))
    assert row["int8 stem vs fp32"] == "–" and row["float stem vs fp32"] == "9.38"
    assert history.parse("# Benchmarks\n\nnothing measured yet\n") is None


def test_runs_keeps_one_row_per_run_its_latest_version_and_the_uncommitted_one(tmp_path):
    root = str(tmp_path)
    git = lambda *a: subprocess.run(["git", *a], cwd=root, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    os.makedirs(os.path.join(root, "docs"))
    path = os.path.join(root, history.REPORT)

    def commit(text):
        with open(path, "w") as f:
            f.write(text)
        git("add", history.REPORT)
        git("commit", "-q", "-m", "run")

    commit(report("2026-12-01 23:34 UTC", int8_stem=False))
    commit(report("2026-12-01 23:34 UTC"))  # the same run, its report regenerated with more rows
    commit(report("2026-12-02 07:36 UTC", cpu="AMD EPYC (family 26, model 2, stepping 1)", layer1="56.6"))
    with open(path, "w") as f:  # a new run, not committed yet
        f.write(report("2026-12-02 17:35 UTC"))
    rows = history.runs(root)
    assert [r["started"] for r in rows] == ["2026-12-01 23:34 UTC", "2026-12-02 07:36 UTC", "2026-12-02 17:35 UTC"]
    assert rows[0]["int8 stem vs fp32"] == "11.2"  # the later version of the first run
    assert rows[1]["cpu"].startswith("AMD EPYC") and rows[1]["56x56x64 % of ceiling"] == "56.6"
    assert rows[2]["committed"] == "(this run, not yet committed)"
    table = history.markdown(rows)
    assert table.count("\n| 2026-") == 3
