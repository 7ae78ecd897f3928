"""Request reading: Binance's signing examples, timing security and parameter errors."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from binance_bot.model import Side
from binance_bot.simulator.request import (
    AHEAD,
    OUTSIDE_WINDOW,
    ApiError,
    Params,
    Verifier,
    check_timing,
    merge_params,
    parse_pairs,
    rest_signature_payload,
    split_signature,
    ws_signature_payload,
)

# Binance's documented HMAC key pair ("SIGNED Endpoint Examples for POST /api/v3/order").
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
EXAMPLE_1 = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
SIG_1 = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
EXAMPLE_2 = (
    "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC"
    "&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
SIG_2 = "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
EXAMPLE_3_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
EXAMPLE_3_BODY = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
SIG_3 = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def test_rest_example_1_signature_in_the_query() -> None:
    payload, signature = rest_signature_payload(f"{EXAMPLE_1}&signature={SIG_1}", "")
    assert payload == EXAMPLE_1
    assert signature == SIG_1
    assert Verifier(DOC_SECRET, None).verify(payload, signature)


def test_rest_example_2_percent_encoded_non_ascii_symbol() -> None:
    payload, signature = rest_signature_payload(EXAMPLE_2, f"signature={SIG_2}")
    assert payload == EXAMPLE_2
    assert signature is not None
    assert Verifier(DOC_SECRET, None).verify(payload, signature)


def test_rest_example_3_query_and_body_join_without_separator() -> None:
    payload, signature = rest_signature_payload(EXAMPLE_3_QUERY, f"{EXAMPLE_3_BODY}&signature={SIG_3}")
    assert payload == EXAMPLE_3_QUERY + EXAMPLE_3_BODY
    assert "GTCquantity" in payload
    assert signature is not None
    assert Verifier(DOC_SECRET, None).verify(payload, signature)


def test_hmac_signatures_are_case_insensitive_and_exact() -> None:
    verifier = Verifier(DOC_SECRET, None)
    assert verifier.verify(EXAMPLE_1, SIG_1.upper())
    assert not verifier.verify(EXAMPLE_1.replace("quantity=1", "quantity=2"), SIG_1)
    assert not verifier.verify(EXAMPLE_1, SIG_1[:-1] + "0")
    assert not Verifier("other", None).verify(EXAMPLE_1, SIG_1)


def test_signature_is_stripped_wherever_it_stands() -> None:
    assert split_signature("signature=abc&a=1&b=2") == ("a=1&b=2", "abc")
    assert split_signature("a=1&signature=abc&b=2") == ("a=1&b=2", "abc")
    assert split_signature("a=1") == ("a=1", None)
    assert split_signature("a=1&signature=ab%2Bc%3D") == ("a=1", "ab+c=")


def test_ws_api_example_sorted_params() -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": DOC_KEY,
        "signature": "ignored",
    }
    payload = ws_signature_payload(params)
    assert payload == (
        f"apiKey={DOC_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT"
        "&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    assert Verifier(DOC_SECRET, None).verify(
        payload, "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_ed25519_signatures_verify_over_the_same_payload() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    verifier = Verifier(None, pem)
    assert verifier.is_ed25519
    signature = base64.b64encode(key.sign(EXAMPLE_1.encode())).decode()
    assert len(signature) == 88
    assert verifier.verify(EXAMPLE_1, signature)
    assert not verifier.verify(EXAMPLE_1 + "&x=1", signature)
    assert not verifier.verify(EXAMPLE_1, "not base64!")


def _code(exc: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return exc.value.rejection.code, exc.value.rejection.msg


def test_timing_accepts_the_window_and_refuses_both_ways() -> None:
    server = 1_700_000_000_000
    check_timing(str(server - 4_999), None, server)
    check_timing(str(server + 999), "1", server)
    with pytest.raises(ApiError) as ahead:
        check_timing(str(server + 1000), None, server)
    assert _code(ahead) == (-1021, AHEAD)
    assert ahead.value.rejection.http_status == 400
    with pytest.raises(ApiError) as late:
        check_timing(str(server - 5001), None, server)
    assert _code(late) == (-1021, OUTSIDE_WINDOW)
    with pytest.raises(ApiError):
        check_timing(str(server - 101), "100", server)
    check_timing(str(server - 100), "100.5", server)


def test_timing_reads_microseconds_and_rejects_bad_windows() -> None:
    server = 1_700_000_000_000
    check_timing(str((server - 10) * 1000), None, server)
    with pytest.raises(ApiError) as missing:
        check_timing(None, None, server)
    assert _code(missing) == (
        -1102,
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    )
    with pytest.raises(ApiError) as too_big:
        check_timing(str(server), "60001", server)
    assert _code(too_big) == (-1131, "'recvWindow' must be less than 60000.")
    with pytest.raises(ApiError) as precision:
        check_timing(str(server), "1.2345", server)
    assert precision.value.rejection.code == -1100


def test_params_errors_use_binances_codes() -> None:
    p = Params({"quantity": "1e5", "empty": "", "orderId": "12a", "side": "UP", "flag": "yes"})
    with pytest.raises(ApiError) as number:
        p.decimal("quantity")
    assert _code(number) == (
        -1100,
        "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )
    with pytest.raises(ApiError) as empty:
        p.text("empty")
    assert _code(empty) == (-1105, "Parameter 'empty' was empty.")
    with pytest.raises(ApiError) as mandatory:
        p.text("symbol", required=True)
    assert _code(mandatory) == (
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    )
    with pytest.raises(ApiError) as integer:
        p.integer("orderId")
    assert _code(integer) == (
        -1100,
        "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.",
    )
    with pytest.raises(ApiError) as side:
        p.enum("side", Side)
    assert side.value.rejection.code == -1100
    with pytest.raises(ApiError):
        p.boolean("flag")
    assert Params({"q": "0.10"}).decimal("q") == Decimal("0.10")
    assert Params({"q": "-1"}).decimal("q") == Decimal(-1)


def test_limits_default_cap_or_refuse() -> None:
    assert Params({}).limit("limit", 500, 1000) == 500
    assert Params({"limit": "7000"}).limit("limit", 100, 5000, cap=True) == 5000
    with pytest.raises(ApiError) as big:
        Params({"limit": "1001"}).limit("limit", 500, 1000)
    assert _code(big) == (-1130, "Data sent for parameter 'limit' is not valid.")
    with pytest.raises(ApiError):
        Params({"limit": "0"}).limit("limit", 500, 1000)


def test_unknown_and_duplicate_parameters() -> None:
    with pytest.raises(ApiError) as unread:
        Params({"symbol": "X", "sybmol": "Y", "timestamp": "1"}).check_known({"symbol"})
    assert _code(unread) == (
        -1104,
        "Not all sent parameters were read; read '2' parameter(s) but was sent '3'.",
    )
    with pytest.raises(ApiError) as dup:
        merge_params(parse_pairs("a=1&a=2"))
    assert _code(dup) == (-1101, "Duplicate values for a parameter detected.")
    assert merge_params(parse_pairs("a=1&b=2"), parse_pairs("a=3&c=4")) == {"a": "1", "b": "2", "c": "4"}
