"""An Ed25519 key signs REST and WebSocket API requests (base64 signatures, percent-encoded in URLs)."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tests.integration.conftest import SimulatorFactory
from tests.integration.simulator.wsutil import recv_json
from yarl import URL

from binance_bot.exchange.binance.signing import Ed25519Signer, sign_ws_params, signed_query
from binance_bot.simulator import AccountSpec


async def test_ed25519_account_over_rest_and_ws_api(simulator_factory: SimulatorFactory) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    sim = await simulator_factory(
        accounts=(AccountSpec("ed-key", ed25519_public_key=pem, balances={"USDT": Decimal(500)}),)
    )
    signer = Ed25519Signer(key)
    query = signed_query({"omitZeroBalances": "true", "timestamp": int(time.time() * 1000)}, signer)
    assert "%2B" in query or "%2F" in query or "%3D" in query  # base64 is percent-encoded in the URL
    async with aiohttp.ClientSession() as session:
        async with session.get(
            URL(f"{sim.rest_url}/api/v3/account?{query}", encoded=True), headers={"X-MBX-APIKEY": "ed-key"}
        ) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert [(b["asset"], b["free"]) for b in body["balances"]] == [("USDT", "500.00000000")]
        tampered = query.replace("omitZeroBalances=true", "omitZeroBalances=false")
        async with session.get(
            URL(f"{sim.rest_url}/api/v3/account?{tampered}", encoded=True), headers={"X-MBX-APIKEY": "ed-key"}
        ) as resp:
            assert (await resp.json())["code"] == -1022
        async with session.ws_connect(sim.ws_api_url) as ws:
            params = sign_ws_params({"apiKey": "ed-key", "timestamp": int(time.time() * 1000)}, signer)
            await ws.send_str(
                json.dumps({"id": 1, "method": "userDataStream.subscribe.signature", "params": params})
            )
            reply = await recv_json(ws)
            assert (reply["status"], reply["result"]) == (200, {"subscriptionId": 0})
