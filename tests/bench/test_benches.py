"""The benchmarks stay runnable: `make bench` runs every one, and a small run of the in-process
one passes (a benchmark that rots is found here, not on the day its figures are wanted)."""
from __future__ import annotations

import os
import subprocess
import sys

from bench.__main__ import BENCHES
from shared.config import ROOT


def test_make_bench_runs_every_benchmark_module():
    modules = {p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(BENCHES), f"not run by make bench: {modules - set(BENCHES)}"


def test_a_small_candidate_import_benchmark_runs():
    out = subprocess.run([sys.executable, "-m", "bench.candidates_import"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "CHITIEU_BENCH_ROWS": "200", "CHITIEU_BENCH_TRANSITIONS": "10"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "import: 200 rows" in out.stdout and "transition POST" in out.stdout, out.stdout
