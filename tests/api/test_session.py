"""The web page's way past the API token: the static page is open, the token is traded
once for a session cookie, and a change made with the cookie must come from the page's
own origin. Token guesses are throttled per client and compared in constant time."""

from __future__ import annotations

import hmac
import http.client
import logging
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.session import COOKIE
from api.throttle import LIMIT, WINDOW_S, FailureThrottle
from tests.conftest import make_settings
from tests.live_server import serve

TOKEN = "tok-8d1e5b"


def test_the_page_trades_the_token_for_a_session_cookie(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", plugins=["features"], host="0.0.0.0", api_token=TOKEN)
    with TestClient(create_app(settings), base_url="http://sampler.local:8000") as client:
        assert client.get("/ui/").status_code == 200  # the page itself: code, no data
        assert client.get("/ui/js/api.js").status_code == 200
        assert client.get("/ui/../status").status_code == 401
        assert client.get("/api/regions").status_code == 401

        wrong = client.post("/api/session", json={"token": "guess"})
        assert wrong.status_code == 401 and wrong.json() == {"error": "wrong API token"}
        assert COOKIE not in client.cookies
        opened = client.post("/api/session", json={"token": TOKEN})
        assert opened.status_code == 200 and opened.json() == {"required": True}
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        assert client.get("/api/regions").status_code == 200  # the cookie is the browser's credential now

        same_site = {"Origin": "http://sampler.local:8000"}
        assert client.post("/api/regions/1/tags", json={"tags": ["kick"]}, headers=same_site).status_code == 404
        forged = client.post("/api/regions/1/tags", json={"tags": ["kick"]}, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403 and "own page" in forged.json()["error"]

        assert client.delete("/api/session").json() == {"required": True}
        assert client.get("/api/regions").status_code == 401
        # a script with the token is not a browser page: its origin does not matter
        scripted = client.post("/api/regions/1/tags", json={"tags": ["kick"]},
                               headers={"Origin": "https://elsewhere.example", "Authorization": f"Bearer {TOKEN}"})
        assert scripted.status_code == 404
        client.cookies.set(COOKIE, TOKEN)
        assert client.get("/api/regions").status_code == 401  # the token is not the cookie


def test_without_a_token_there_is_no_session_to_open(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "data", plugins=["features"]))) as client:
        answer = client.post("/api/session", json={"token": "anything"})
        assert answer.json() == {"required": False} and COOKIE not in client.cookies
        assert client.get("/api/regions").status_code == 200


def test_the_open_page_prefix_leads_nowhere_else(tmp_path: Path) -> None:
    """Paths under /ui/ skip the token check, so none of them may reach the API: raw
    (unnormalised) paths sent to a live server."""
    settings = make_settings(tmp_path / "data", plugins=["features"], host="0.0.0.0", api_token=TOKEN)
    with serve(settings) as base:
        address = urlsplit(base)
        for path in ("/ui/../status", "/ui/..%2fstatus", "/ui/%2e%2e/api/regions", "/ui//status", "/UI/../status"):
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            connection.request("GET", path)
            answer = connection.getresponse()
            assert answer.status in (401, 404), (path, answer.status)
            assert b"regions" not in answer.read(), path
            connection.close()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_throttle_counts_failures_in_a_sliding_window_per_client() -> None:
    clock = Clock()
    throttle = FailureThrottle(limit=3, window_s=60, max_clients=2, clock=clock)
    for _ in range(2):
        throttle.failed("10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.failed("10.0.0.1")  # failures at 1000, 1010, 1020; now 1020
    assert throttle.retry_after("10.0.0.1") == 40  # the first ages out at 1060
    assert throttle.retry_after("10.0.0.2") == 0  # another client is not affected
    clock.now += 40
    assert throttle.retry_after("10.0.0.1") == 0  # one failure left the window
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 10
    throttle.failed("10.0.0.2")
    throttle.failed("10.0.0.3")  # a third client: the one that failed longest ago is forgotten
    assert throttle.retry_after("10.0.0.1") == 0


def test_token_guesses_are_throttled_per_client(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """LIMIT wrong tokens (to /api/session or in the header) in a window, then 429 with
    Retry-After, even for the right token, until the window has passed. A request with
    no token or a wrong cookie is not a guess. No guess is logged."""
    settings = make_settings(tmp_path / "data", plugins=["features"], host="0.0.0.0", api_token=TOKEN)
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    with TestClient(create_app(settings)) as client:
        client.app.state.token_throttle = FailureThrottle(clock=clock)
        for cookie in (None, "forged"):  # no token, a wrong cookie: not counted
            if cookie:
                client.cookies.set(COOKIE, cookie)
            assert [client.get("/api/regions").status_code for _ in range(2 * LIMIT)] == [401] * 2 * LIMIT
        client.cookies.clear()
        guesses = [f"guess-{i}" for i in range(LIMIT)]
        for i, guess in enumerate(guesses):
            wrong = (client.post("/api/session", json={"token": guess}) if i % 2 else
                     client.get("/api/regions", headers={"Authorization": f"Bearer {guess}"}))
            assert wrong.status_code == 401, i
        clock.now += 10
        for refused in (client.post("/api/session", json={"token": TOKEN}),
                        client.get("/api/regions", headers={"Authorization": f"Bearer {TOKEN}"})):
            assert refused.status_code == 429 and refused.headers["Retry-After"] == str(int(WINDOW_S) - 10)
            assert "too many wrong API tokens" in refused.json()["error"]
        assert client.get("/health").status_code == 200  # open paths stay open
        clock.now += WINDOW_S
        assert client.post("/api/session", json={"token": TOKEN}).status_code == 200
        assert client.get("/api/regions", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "sent 10 wrong API tokens" in logged and not [g for g in guesses if g in logged]
    assert TOKEN not in logged


def test_tokens_are_compared_in_constant_time_whatever_their_length(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    settings = make_settings(tmp_path / "data", plugins=["features"], host="0.0.0.0", api_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        for guess in ("x", TOKEN[:-1], TOKEN + "x" * 500, TOKEN):
            client.post("/api/session", json={"token": guess})
            client.get("/api/regions", headers={"Authorization": f"Bearer {guess}"})
        client.cookies.set(COOKIE, "y" * 3000)
        client.get("/api/regions")
    assert compared and set(compared) == {(32, 32)}  # digests: the guess's length does not show
