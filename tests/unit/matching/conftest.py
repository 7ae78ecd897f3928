"""Fixtures of the matching tests."""

from __future__ import annotations

import pytest
from tests.unit.matching.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()
