"""`exchange serve` starts the web app and a real worker with beat; /healthz sees both."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_runs_web_worker_and_beat(instance_config: dict[str, object], tmp_path: Path) -> None:
    port = _free_port()
    environment = dict(os.environ)
    environment.update({f"EXCHANGE_{k}": str(v) for k, v in instance_config.items()})
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "exchange", "serve", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline, status, body = time.monotonic() + 150, 0, {}
        while time.monotonic() < deadline:
            try:
                status, body = _health(port)
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(1)
        assert status == 200, log_path.read_text()[-4000:]
        assert body["database"] == "ok"
        assert body["worker"]["status"] == "ok"  # type: ignore[index]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
