"""The indicator benchmark runs end to end at toy sizes and leaves BENCHMARKS.md alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench import indicators as bench


def test_benchmark_main_runs_at_tiny_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    md = Path(bench.__file__).resolve().parents[1] / "BENCHMARKS.md"
    before = md.read_text() if md.exists() else None
    sizes = ["--single-bars", "3000", "--batch-rows", "3", "--batch-bars", "2000", "--repeats", "1"]
    code = bench.main([*sizes, "--no-write", "--eager-only", "--no-cuda"])
    assert code == 0
    out = capsys.readouterr().out
    assert "set of 10" in out and "CUDA: not available on this machine" in out
    assert (md.read_text() if md.exists() else None) == before


def test_section_writer_replaces_only_its_own_section(tmp_path: Path) -> None:
    from bench.common import write_section

    md = tmp_path / "BENCHMARKS.md"
    write_section("other", "other body", md)
    write_section("indicators", "first", md)
    write_section("indicators", "second", md)
    text = md.read_text()
    assert text.count("<!-- bench:indicators:start -->") == 1
    assert "second" in text and "first" not in text and "other body" in text
