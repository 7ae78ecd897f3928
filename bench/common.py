"""Shared benchmark helpers: seeded candles, best-of-N timing, machine facts, and writing one
benchmark's section of BENCHMARKS.md without touching the others."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO / "BENCHMARKS.md"

HEADER = """# Benchmarks

Measured by the scripts in `bench/` against named peers, in the same process and run. Each
benchmark owns one section between its `bench:NAME` markers and rewrites only that section.
"""


@dataclass(frozen=True)
class Candles:
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def bars(self) -> int:
        return int(self.close.size)


def gen_ohlcv(rows: int, bars: int, seed: int, start: float = 100.0) -> Candles:
    """Random-walk candles that look like 1-minute bars, shaped ``[rows, bars]``.

    Log-returns are Student-t(4) shocks scaled by an AR(1) log-volatility (phi 0.999,
    vol-of-vol 0.03), so calm and volatile regimes alternate; the realised per-bar sigma is
    about 0.10%. Open is the previous close times a tiny gap; high and low add half-normal
    wicks beyond max/min(open, close); volume is lognormal.
    """
    rng = np.random.default_rng(seed)
    phi, vol_of_vol, base = 0.999, 0.03, 0.001
    shocks = rng.normal(0.0, vol_of_vol, (rows, bars))
    log_vol = _ar1(shocks, phi)
    t = rng.standard_t(4, (rows, bars)) / np.sqrt(2.0)  # unit variance
    returns = base * np.exp(log_vol - log_vol.std() ** 2 / 2) * t
    close = start * np.exp(np.cumsum(returns, axis=1))
    gap = 1.0 + rng.normal(0.0, base / 20, (rows, bars))
    opened = np.concatenate([np.full((rows, 1), start), close[:, :-1]], axis=1) * gap
    wick = base / 2
    high = np.maximum(opened, close) * (1.0 + np.abs(rng.normal(0.0, wick, (rows, bars))))
    low = np.minimum(opened, close) * (1.0 - np.abs(rng.normal(0.0, wick, (rows, bars))))
    volume = rng.lognormal(3.0, 1.0, (rows, bars))
    return Candles(opened, high, low, close, volume)


def _ar1(shocks: np.ndarray, phi: float, chunk: int = 2048) -> np.ndarray:
    """``v[t] = phi * v[t-1] + shocks[t]`` along the last axis, in closed form per chunk
    (phi is close to 1, so ``phi**-chunk`` stays small and the form is stable)."""
    out = np.empty_like(shocks)
    state = np.zeros(shocks.shape[0])
    for s in range(0, shocks.shape[1], chunk):
        e = shocks[:, s : s + chunk]
        k = np.arange(e.shape[1])
        acc = np.cumsum(e * phi ** (-k), axis=1)
        out[:, s : s + e.shape[1]] = phi**k * acc + phi ** (k + 1) * state[:, None]
        state = out[:, s + e.shape[1] - 1]
    return out


def best_of(fn: Callable[[], object], repeats: int, sync: Callable[[], None] | None = None) -> float:
    """Best wall time in seconds over ``repeats`` runs, after one untimed warm-up run."""
    fn()
    if sync:
        sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        best = min(best, time.perf_counter() - t0)
    return best


class CpuWatch:
    """How much CPU other processes used while a benchmark ran (in cores), so a noisy
    machine shows in the report."""

    def __init__(self) -> None:
        self._start = (self._busy(), os.times(), time.perf_counter())

    @staticmethod
    def _busy() -> float:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except OSError:
            return float("nan")
        values = [int(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")

    def others_cores(self) -> float:
        busy0, times0, wall0 = self._start
        busy1, times1, wall1 = self._busy(), os.times(), time.perf_counter()
        ours = (times1.user - times0.user) + (times1.system - times0.system)
        return max(0.0, (busy1 - busy0 - ours) / max(wall1 - wall0, 1e-9))


def machine() -> dict[str, str]:
    """CPU model, cores, versions: enough to compare runs."""
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch threads": str(torch.get_num_threads()),
        "numpy": np.__version__,
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
    }
    if torch.cuda.is_available():
        info["cuda device"] = torch.cuda.get_device_name(0)
    return info


def write_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace this benchmark's section (between its markers) in BENCHMARKS.md, appending it
    if absent and creating the file with a short header if needed; other sections stay
    byte for byte."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)
