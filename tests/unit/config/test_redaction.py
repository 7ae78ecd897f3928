from binance_bot.config.redaction import MASK, redact, register_secret


def test_registered_values_are_masked() -> None:
    register_secret("s3cr3t-value")
    assert redact("secret is s3cr3t-value!") == f"secret is {MASK}!"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc") == "abc"


def test_signature_and_api_key_patterns() -> None:
    text = "GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=c8db56825ae71d6d X-MBX-APIKEY: vmPUZE6mv9SD5VN"
    out = redact(text)
    assert "c8db56825ae71d6d" not in out and "vmPUZE6mv9SD5VN" not in out
    assert "symbol=BTCUSDT" in out
    assert (
        redact('{"apiKey": "abcdef123", "signature": "ffff"}')
        == f'{{"apiKey": "{MASK}", "signature": "{MASK}"}}'
    )
