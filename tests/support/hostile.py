"""Hypothesis strategies for hostile documents, shared by the fuzz tests of receiving and importing.

`hostile_values` are leaves a real platform or export never sends but an attacker (or a broken
exporter) may: integers past every column, digit strings of thousands of characters, numbers
that overflow a float, lone surrogates, NUL characters, digits that are not ASCII, very long and
empty strings. `json_documents` are arbitrary JSON shapes built of them; `mutated(doc)` takes a
real document and breaks it in one place (a value replaced, a key removed, a subtree nested
deeply). The budget of each test is fixed (`budget()`); CONNECTOR_FUZZ_EXAMPLES raises it for a
longer hunt on a developer's machine.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "²",
    "١٢٣",
    "9" * 250,
    "x" * 5000,
    "1e999",
    "NaN",
    "-0",
    "\u202e42",
    "\n",
    "\t42",
    "null",
    "{}",
    "[]",
    "../../etc/passwd",
    "2024-02-30",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "🙂" * 60,
]
BREAKERS = ["\x00", "\ud800", "x\udfff", "9" * 250, "²", "1e999"]  # what broke code before: drawn most
NASTY_NUMBERS = [0, -1, 2**31, 2**63, 2**64 + 1, 10**400, -(10**400), 1e308, -1e308, 0.1, 1e-320, True, False]


def hostile_values() -> st.SearchStrategy[Any]:
    """Leaves that break naive code."""
    return st.one_of(
        st.sampled_from(NASTY_STRINGS),
        st.sampled_from(NASTY_NUMBERS),
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30),
    )


def json_documents(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Arbitrary JSON shapes whose leaves are hostile."""
    keys = st.one_of(
        st.sampled_from(
            [
                "id",
                "type",
                "detail",
                "ticket",
                "email",
                "customer",
                "products",
                "sla",
                "code",
                "name",
                "\ud800",
                "",
                "x" * 300,
            ]
        ),
        st.text(max_size=12),
    )
    return st.recursive(
        hostile_values(),
        lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=max_leaves,
    )


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in `doc` (the root included)."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, prefix + (index,))
    return found


@st.composite
def mutated(draw, doc: Any) -> Any:
    """`doc` broken in one place: a value replaced by a hostile one or a hostile shape, a member
    removed, or the value wrapped in deep nesting."""
    doc = copy.deepcopy(doc)
    path = draw(st.sampled_from(_paths(doc)))
    # mostly a value of the same type (it passes the schema and reaches the code behind it)
    how = draw(st.sampled_from(["typed", "typed", "typed", "value", "shape", "remove", "nest"]))
    if not path:
        return draw(json_documents()) if how != "nest" else [[[[doc]]]]
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "typed":
        current = parent[last]
        if isinstance(current, str):
            parent[last] = draw(
                st.one_of(
                    st.sampled_from(BREAKERS),
                    st.sampled_from(NASTY_STRINGS),
                    st.builds(lambda a, b: a + b, st.just(current), st.sampled_from(BREAKERS)),
                )
            )
        elif isinstance(current, (int, float)) and not isinstance(current, bool):
            parent[last] = draw(st.sampled_from([n for n in NASTY_NUMBERS if not isinstance(n, bool)]))
        else:
            parent[last] = draw(hostile_values())
    elif how == "value":
        parent[last] = draw(hostile_values())
    elif how == "shape":
        parent[last] = draw(json_documents(8))
    elif how == "remove":
        del parent[last]
    else:
        value = parent[last]
        for _ in range(draw(st.integers(1, 200))):
            value = [value]
        parent[last] = value
    return doc


def encoded(draw, doc: Any) -> bytes:
    """`doc` as bytes, the way a sender might write it (escaped or raw UTF-8, surrogates escaped)."""
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=False)
    return text.encode("utf-8", "surrogatepass") if not text.isascii() else text.encode()


def budget(examples: int) -> settings:
    """The fixed budget of a fuzz test (CONNECTOR_FUZZ_EXAMPLES overrides it), reproducible runs."""
    wanted = int(os.environ.get("CONNECTOR_FUZZ_EXAMPLES", examples))
    return settings(
        max_examples=wanted,
        deadline=None,
        derandomize="CONNECTOR_FUZZ_EXAMPLES" not in os.environ,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
