"""``serve`` and ``demo``: the server they build, and the demo city at a tiny size."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from typer.testing import Result

from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings

Invoke = Callable[..., Result]


def test_make_server_migrates_and_serves_the_app_for_the_settings(settings: Settings) -> None:
    server = make_server(settings, host="127.0.0.1", port=8123)
    app = server.config.app
    assert isinstance(app, FastAPI)
    assert app.state.settings is settings
    assert (server.config.host, server.config.port) == ("127.0.0.1", 8123)
    app.state.engine.dispose()


def test_bitgoeul_serve_answers_health_checks(settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "BITGOEUL_ENVIRONMENT": "test",
        "BITGOEUL_DATA_DIR": str(settings.data_dir),
        "BITGOEUL_DATABASE_URL": settings.database_url or "",
        "BITGOEUL_SECRET_KEY": "serve-test-" + "x" * 40,
    }
    command = [sys.executable, "-m", "bitgoeul.cli", "serve", "--port", str(port)]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = process.stdout.read().decode() if process.stdout else ""
                        raise AssertionError(f"bitgoeul serve did not start:\n{output}") from None
                    time.sleep(0.1)
            assert response.json() == {"status": "ok"}
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_demo_builds_a_tiny_city_and_prints_the_accounts(invoke: Invoke) -> None:
    result = invoke("demo", "--people", "60", "--seed", "7", "--no-serve", "--port", "8765")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8765/" in result.output
    for username in ("operator", "kepco", "researcher", "citizen"):
        assert username in result.output
    assert "password is demo" in result.output
