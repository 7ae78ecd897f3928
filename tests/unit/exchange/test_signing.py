"""Signatures reproduce Binance's documented examples (docs/binance-api.md §2.2, §2.3)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from binance_bot.errors import ConfigError
from binance_bot.exchange.binance.signing import (
    Ed25519Signer,
    HmacSigner,
    encode_query,
    sign_ws_params,
    signed_query,
    ws_signature_payload,
)

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ORDER = {
    "symbol": "LTCBTC",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "1",
    "price": "0.1",
    "recvWindow": 5000,
    "timestamp": 1499827319559,
}


def test_rest_hmac_example() -> None:
    query = encode_query(ORDER)
    assert query == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )
    assert (
        HmacSigner(SECRET).sign(query) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    assert signed_query(ORDER, HmacSigner(SECRET)).endswith(
        "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_rest_hmac_signs_the_percent_encoded_payload() -> None:
    query = encode_query({**ORDER, "symbol": "１２３４５６"})
    assert query.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY")
    assert (
        HmacSigner(SECRET).sign(query) == "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
    )


def test_rest_hmac_query_plus_body_example() -> None:
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
        + "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )
    assert (
        HmacSigner(SECRET).sign(payload) == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    )


def test_json_array_parameters_are_encoded() -> None:
    assert encode_query({"symbols": '["BTCUSDT","BNBUSDT"]'}) == "symbols=%5B%22BTCUSDT%22%2C%22BNBUSDT%22%5D"
    assert encode_query({"a": None, "b": True}) == "b=true"


def test_ws_api_example() -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": API_KEY,
    }
    assert ws_signature_payload(params) == (
        f"apiKey={API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT"
        "&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    signed = sign_ws_params(params, HmacSigner(SECRET))
    assert signed["signature"] == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    unicode = {
        **params,
        "symbol": "１２３４５６",
        "side": "BUY",
        "quantity": "1.00000000",
        "price": "0.10000000",
        "recvWindow": 5000,
    }
    assert (
        sign_ws_params(unicode, HmacSigner(SECRET))["signature"]
        == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"
    )


def test_ed25519_signature_verifies_and_is_url_safe_in_the_query() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    signer = Ed25519Signer.from_pem(pem)
    sig = signer.sign("symbol=BTCUSDT&timestamp=1")
    assert len(sig) == 88
    key.public_key().verify(base64.b64decode(sig), b"symbol=BTCUSDT&timestamp=1")
    query = signed_query({"symbol": "BTCUSDT", "timestamp": 1}, signer)
    encoded = query.rpartition("signature=")[2]
    assert "+" not in encoded and "/" not in encoded and "=" not in encoded
    assert "<private key>" in repr(signer) and "<secret>" in repr(HmacSigner("abcdef"))


def test_bad_keys_are_config_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="not a readable PEM"):
        Ed25519Signer.from_pem(b"nope")
    with pytest.raises(ConfigError, match="cannot read"):
        Ed25519Signer.from_file(tmp_path / "missing.pem")
    with pytest.raises(ConfigError):
        HmacSigner("")
