"""The files a user hands the bot, broken: a result or the reader's own typed error.

* configuration files (YAML and JSON): :class:`ConfigError`, which the CLI prints as one
  line naming the layer and key;
* candle files (Binance CSV, JSON): :class:`DataError` naming the file and line;
* ``_raw_assets.csv``: :class:`DataError` naming the line.

Inputs start from real files (``config.yaml.example``, the candle fixtures) and are mutated
structurally (fields deleted, values of the wrong type, hostile numbers), cut short, or
garbled byte-wise (including bytes that are not UTF-8).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.fuzz.mutations import mutated, truncated_text

from binance_bot.config import load_config
from binance_bot.config.loader import read_config_file
from binance_bot.data.assets import read_assets_file
from binance_bot.data.readers import read_candles
from binance_bot.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_CONFIG = yaml.safe_load((REPO / "config.yaml.example").read_text())
CANDLES = REPO / "tests" / "resources" / "candles" / "valid"
CSV_FIXTURES = {
    "BTCUSDT-1h-2024-01.csv": (CANDLES / "BTCUSDT-1h-2024-01.csv").read_text(),
    "ETHUSDT-15m-2024-12-31.csv": (CANDLES / "ETHUSDT-15m-2024-12-31.csv").read_text(),
    "BNBUSDT-4h.json": (CANDLES / "BNBUSDT-4h.json").read_text(),
}


@contextmanager
def file_with(name: str, content: str | bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        path.chmod(0o600)
        yield path


def outcome(read: Callable[[], Any], expected: type[Exception]) -> tuple[Any, Exception | None]:
    """The result, or the expected typed error; any other exception fails the test."""
    try:
        return read(), None
    except expected as exc:
        return None, exc


garbage_bytes = st.binary(max_size=200) | st.sampled_from(
    [b"\xff\xfe\x00", b"\x80abc", "é".encode("latin-1")]
)


# ---------------------------------------------------------------------- configuration
@st.composite
def config_texts(draw: st.DrawFn) -> tuple[str, str | bytes]:
    doc = draw(mutated(EXAMPLE_CONFIG, 3))
    if draw(st.booleans()):
        name, text = "config.json", json.dumps(doc, default=str)
    else:
        name, text = "config.yaml", yaml.safe_dump(doc)
    way = draw(st.sampled_from(["as is", "cut", "bytes", "text"]))
    if way == "cut":
        return name, draw(truncated_text(text))
    if way == "bytes":
        cut = draw(st.integers(0, len(text)))
        return name, text[:cut].encode() + draw(garbage_bytes) + text[cut:].encode()
    if way == "text":
        return name, draw(st.text(max_size=300))
    return name, text


@given(case=config_texts())
def test_config_files_load_or_raise_config_error(case: tuple[str, str | bytes]) -> None:
    name, content = case
    with file_with(name, content) as path, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded, error = outcome(lambda: load_config(path, environ={}, use_default_file=False), ConfigError)
    if error is not None:
        assert str(error)  # a message for the user's one line
    else:
        assert loaded.config.trading.max_positions >= 1


@pytest.mark.parametrize("content", [b"\xff\xfe api: 1", b"trading:\n  symbols: [\x80]\n"])
def test_a_config_file_that_is_not_utf8(content: bytes) -> None:
    with file_with("config.yaml", content) as path, pytest.raises(ConfigError, match="config.yaml"):
        read_config_file(path)


# ---------------------------------------------------------------------- candles
@st.composite
def candle_texts(draw: st.DrawFn) -> tuple[str, str | bytes]:
    name = draw(st.sampled_from(sorted(CSV_FIXTURES)))
    text = CSV_FIXTURES[name]
    if name.endswith(".json"):
        rows = json.loads(text)
        return name, json.dumps(draw(mutated(rows, 3)))
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        fields = lines[i].split(",")
        j = draw(st.integers(0, len(fields) - 1))
        action = draw(st.sampled_from(["replace", "drop", "repeat", "swap"]))
        if action == "replace":
            fields[j] = str(
                draw(st.sampled_from(["", "nan", "-1", "1e400", "0x1", "abc", "9" * 40, "-0", " "]))
            )
            lines[i] = ",".join(fields)
        elif action == "drop":
            lines[i] = ",".join(fields[:j] + fields[j + 1 :])
        elif action == "repeat":
            lines.insert(i, lines[i])
        else:
            k = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[k] = lines[k], lines[i]
    text = "\n".join(lines) + "\n"
    way = draw(st.sampled_from(["as is", "cut", "bytes"]))
    if way == "cut":
        return name, draw(truncated_text(text))
    if way == "bytes":
        cut = draw(st.integers(0, len(text)))
        return name, text[:cut].encode() + draw(garbage_bytes) + text[cut:].encode()
    return name, text


@given(case=candle_texts())
def test_candle_files_read_or_raise_data_error(case: tuple[str, str | bytes]) -> None:
    name, content = case
    with file_with(name, content) as path:
        frame, error = outcome(lambda: read_candles(path), DataError)
    if error is not None:
        assert name in str(error)
    else:
        assert len(frame) > 0


# ---------------------------------------------------------------------- _raw_assets.csv
assets_rows = st.lists(
    st.sampled_from(
        ["BTCUSDT", "ethusdt", " SOLUSDT ", "", "BTC-USDT", "BTC/USDT", "😀", "A" * 40, ",", '"x"']
    )
    | st.text(max_size=12),
    max_size=6,
)


@st.composite
def assets_texts(draw: st.DrawFn) -> str | bytes:
    header = draw(st.sampled_from(["symbol", "Symbol,weight", "weight,symbol", "name", "", "symbol,"]))
    rows = [
        ",".join([*draw(st.lists(st.sampled_from(["1", "x", ""]), max_size=2)), r]) for r in draw(assets_rows)
    ]
    text = "\n".join([header, *rows]) + "\n"
    if draw(st.booleans()):
        return text.encode() + draw(garbage_bytes)
    return text


@given(content=assets_texts())
def test_assets_files_read_or_raise_data_error(content: str | bytes) -> None:
    with file_with("_raw_assets.csv", content) as path:
        symbols, error = outcome(lambda: read_assets_file(path), DataError)
    if error is not None:
        assert "_raw_assets.csv" in str(error)
    else:
        assert all(s.isalnum() and s == s.upper() for s in symbols)


# ---------------------------------------------------------------------- what the fuzzing found
def test_an_assets_file_that_is_not_utf8() -> None:
    with (
        file_with("_raw_assets.csv", b"symbol\n\x80BTCUSDT\n") as path,
        pytest.raises(DataError, match="UTF-8"),
    ):
        read_assets_file(path)


@pytest.mark.parametrize(
    ("column", "value"),
    [(0, "9" * 40), (6, "-" + "9" * 30), (8, "1e400"), (1, "42000\r.5")],
    ids=[
        "open_time beyond int64",
        "close_time beyond int64",
        "trades infinite",
        "carriage return in a field",
    ],
)
def test_candle_values_that_escaped_the_reader(column: int, value: str) -> None:
    lines = CSV_FIXTURES["BTCUSDT-1h-2024-01.csv"].splitlines()
    fields = lines[1].split(",")
    fields[column] = value
    lines[1] = ",".join(fields)
    with file_with("BTCUSDT-1h-2024-01.csv", "\n".join(lines) + "\n") as path, pytest.raises(DataError):
        read_candles(path)
