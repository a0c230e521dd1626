"""deploy/: the compose file parses, every setting is documented, secrets come from files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from exchange.config import DEFAULTS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENTRYPOINT = DEPLOY / "exchange-env"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
NGINX = DEPLOY / "nginx" / "exchange.conf"


def run_entrypoint(environment: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """Run deploy/exchange-env with only these variables (and PATH)."""
    return subprocess.run(
        [str(ENTRYPOINT), *command],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_example_environment_lists_every_setting() -> None:
    text = (DEPLOY / "example.env").read_text()
    for key in DEFAULTS:
        assert re.search(rf"^#? ?EXCHANGE_{key}(_FILE)?=", text, re.MULTILINE), key
    for line in text.splitlines():
        assert not re.match(r"^EXCHANGE_(INSTANCE_KEY|SECRET_KEY|DATABASE_URL)=", line), line


def test_the_entrypoint_reads_secrets_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "instance_key"
    secret.write_text("c2VjcmV0LWtleS1mb3ItYS10ZXN0\n")
    done = run_entrypoint(
        {"EXCHANGE_INSTANCE_KEY_FILE": str(secret)},
        "sh",
        "-c",
        'printf "%s|%s" "$EXCHANGE_INSTANCE_KEY" "${EXCHANGE_INSTANCE_KEY_FILE:-unset}"',
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "c2VjcmV0LWtleS1mb3ItYS10ZXN0|unset"


def test_the_entrypoint_refuses_both_forms_and_unreadable_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret_key"
    secret.write_text("x")
    both = run_entrypoint(
        {"EXCHANGE_SECRET_KEY": "y", "EXCHANGE_SECRET_KEY_FILE": str(secret)}, "true"
    )
    assert both.returncode == 64
    assert "both" in both.stderr
    missing = run_entrypoint({"EXCHANGE_SECRET_KEY_FILE": str(tmp_path / "nope")}, "true")
    assert missing.returncode == 66
    assert "cannot be read" in missing.stderr


def _nginx_blocks(text: str, opening: str) -> list[str]:
    """Return the body of every block whose opening line matches (braces balanced)."""
    bodies = []
    for match in re.finditer(opening, text, re.MULTILINE):
        depth, start = 1, match.end()
        for index in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                bodies.append(text[start:index])
                break
    return bodies


def _without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def test_nginx_never_serves_metrics() -> None:
    text = _without_comments(NGINX.read_text())
    (metrics,) = _nginx_blocks(text, r"location\s*=\s*/metrics\s*\{")
    assert re.fullmatch(r"\s*return 404;\s*", metrics), metrics
    assert "metrics" not in text.replace("location = /metrics", "")


def test_nginx_sends_hsts_and_permissions_policy_on_every_tls_answer() -> None:
    text = _without_comments(NGINX.read_text())
    tls = next(body for body in _nginx_blocks(text, r"^server\s*\{") if "listen 443" in body)
    hsts = re.search(r'add_header Strict-Transport-Security "max-age=(\d+)[^"]*" always;', tls)
    assert hsts
    assert int(hsts.group(1)) >= 31_536_000
    policy = re.search(r'add_header Permissions-Policy "([^"]+)" always;', tls)
    assert policy
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy.group(1)
    # A location with add_header of its own would silently drop the server's headers.
    for location in _nginx_blocks(tls, r"location[^{]*\{"):
        assert "add_header" not in location, location


def test_the_image_runs_as_a_user_without_secrets() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("FROM python:3.11-slim") == 2
    assert re.search(r"^USER exchange$", text, re.MULTILINE)
    assert not re.search(r"^(ENV|ARG)\b.*(KEY|SECRET|PASSWORD|DATABASE_URL)", text, re.MULTILINE)
    assert 'ENTRYPOINT ["/usr/local/bin/exchange-env"]' in text


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_the_compose_file_parses(tmp_path: Path) -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client here to parse deploy/docker-compose.yml")
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    shutil.copy(copy / "example.env", copy / "exchange.env")
    (copy / "secrets").mkdir()
    for name in (
        "database_url",
        "instance_key",
        "secret_key",
        "metrics_token",
        "postgres_password",
    ):
        (copy / "secrets" / name).write_text("placeholder\n")
    done = subprocess.run(
        [*client, "-f", str(copy / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    services = set(re.findall(r"^  ([a-z]+):$", done.stdout.split("\nservices:\n", 1)[1], re.M))
    assert {"migrate", "web", "worker", "beat", "postgres", "redis", "proxy"} <= services
    assert "exchange.web:create_app()" in done.stdout
    assert done.stdout.count("- beat\n") == 1  # One scheduler, not one per worker.
    assert "--beat" not in done.stdout


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_the_systemd_units_verify(unit: Path, tmp_path: Path) -> None:
    text = unit.read_text()
    assert "User=exchange" in text
    assert "--beat" not in text
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    local = tmp_path / unit.name
    local.write_text(text.replace("/usr/local/bin/exchange-env", str(ENTRYPOINT)))
    done = subprocess.run(
        [analyze, "verify", str(local)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_there_are_three_units() -> None:
    names = {unit.name for unit in UNITS}
    assert names == {"exchange-web.service", "exchange-worker.service", "exchange-beat.service"}
