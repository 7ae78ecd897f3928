"""Looking for secrets where they must never be: every byte of every file a run wrote."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


def leaks(paths: Iterable[Path], markers: Sequence[str]) -> list[str]:
    """``path: marker`` for each file that contains a marker (raw bytes, so a SQLite page, a
    WAL frame or a gzip member is searched as it lies on disk; text is also searched
    case-insensitively, since a logger may change case)."""
    found = []
    needles = [m.encode() for m in markers] + [m.lower().encode() for m in markers]
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        lowered = data.lower()
        for marker, needle in zip(list(markers) * 2, needles, strict=True):
            if needle in data or needle in lowered:
                found.append(f"{path}: {marker}")
                break
    return found


def written_files(folder: Path, *, exclude: Sequence[str] = ("config.yaml",)) -> list[Path]:
    """Every file under ``folder`` but the named ones (the configuration holds the secret on
    purpose: it is where the user put it)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in exclude)
