"""The web page's way past the API token: the static page is open, the token is traded
once for a session cookie, and a change made with the cookie must come from the page's
own origin."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from api.app import create_app
from api.session import COOKIE
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
