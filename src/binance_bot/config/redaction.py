"""Secret redaction shared by logs, the CLI, reports and the dashboard.

Every place that turns text into output (log formatters, the CLI's error line, HTML
reports, dashboard pages) passes it through :func:`redact`. Secrets are registered once,
when the configuration is loaded, so no caller has to know which values are secret.
Patterns catch secrets we never saw as values: ``signature=`` query parameters and API-key
headers.
"""

from __future__ import annotations

import re
import threading

MASK = "**********"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

_STATIC_PATTERNS = [
    # signature=<hex or base64> in query strings and bodies (HMAC, RSA and Ed25519 forms)
    re.compile(r"(signature=)[A-Za-z0-9%+/=_\-]+", re.IGNORECASE),
    re.compile(r"""(["']signature["']\s*:\s*["'])[^"']+""", re.IGNORECASE),
    # the API key header, however it is printed
    re.compile(r"""(X-MBX-APIKEY["']?\s*[:=]\s*["']?)[A-Za-z0-9]+""", re.IGNORECASE),
    re.compile(r"""(["']apiKey["']\s*:\s*["'])[^"']+"""),
    re.compile(r"(apiKey=)[A-Za-z0-9]+"),
]

# Values shorter than this are not registered: masking "a" or "1" everywhere would garble
# logs without protecting anything.
MIN_SECRET_LENGTH = 6


def register_secret(value: str | None) -> None:
    """Remember ``value`` so :func:`redact` masks it everywhere from now on."""
    global _pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def clear_secrets() -> None:
    """Forget registered values (tests only)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def redact(text: str) -> str:
    """``text`` with every registered secret and every signature/API-key pattern masked."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for static in _STATIC_PATTERNS:
        text = static.sub(lambda m: m.group(1) + MASK, text)
    return text
