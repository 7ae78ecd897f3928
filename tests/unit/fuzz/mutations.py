"""Hypothesis strategies that break well-formed inputs the way the world breaks them.

Starting from a real payload (a recorded Binance message, a valid config, a candle file),
a mutation deletes a field, swaps a value for one of the wrong type, a huge, negative,
non-finite or oddly written number, empties or repeats a list, or truncates the text. A
parser must answer each with a result or its own typed error; anything else is a bug.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

HOSTILE_SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**70),
    10**400,
    1.5,
    -0.0,
    1e308,
    "",
    " ",
    "abc",
    "-1",
    "-0.00000001",
    "1e999999",
    "-1e-999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "sNaN",
    "99999999999999999999999999999999999999.99999999",
    "0x10",
    "1_000",
    " 12 ",
    "\u0661\u0662",  # Arabic-Indic digits: int() reads them, Binance never sends them
    "12a",
    "\x00",
    "x" * 5000,
    "BTCUSDT",
    "FILLED",
    "BUY",
]

hostile = st.recursive(
    st.sampled_from(HOSTILE_SCALARS),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "s", "p", "0"]), inner, max_size=3)
    ),
    max_leaves=5,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, payload: Any, max_mutations: int = 3) -> Any:
    """``payload`` with one to ``max_mutations`` mutations, each at a drawn place."""
    doc = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "empty", "repeat"]))
        if not path:
            doc = draw(hostile) if action == "replace" else doc
            continue
        parent, key = _parent(doc, path), path[-1]
        if action == "replace":
            parent[key] = draw(hostile)
        elif action == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif action == "empty":
            parent[key] = [] if isinstance(parent[key], list) else {} if isinstance(parent[key], dict) else ""
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = [parent[key], parent[key]]
    return doc


@st.composite
def truncated_text(draw: st.DrawFn, text: str) -> str:
    """``text`` cut short, or with a stretch replaced by noise (a frame garbled in transit)."""
    if draw(st.booleans()):
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 20)))
    return text[:start] + draw(st.text(max_size=20)) + text[end:]
