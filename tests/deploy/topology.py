"""Run one school's service as production does: gunicorn, a Celery worker and a separate beat."""

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance, open_instance
from exchange.partners.service import (
    confirm_partner,
    enrol_partner,
    own_card,
    pending_safety_number,
)
from exchange.records.models import School, User
from exchange.tasks.celery_app import make_celery
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer

HERE = Path(__file__).resolve().parent
DEPLOY = HERE.parents[1] / "deploy"
GUNICORN_WORKERS = 3
# Passed as files through deploy/exchange-env, as docker secrets and systemd credentials are.
SECRET_SETTINGS = ("INSTANCE_KEY", "SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN")


def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], Any], seconds: float, message: Callable[[], str]) -> Any:
    """Poll until the condition holds; fail with the message after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(message())


def get(url: str, timeout: float = 5, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Return the status and body of a GET, or (0, '') if nothing answers."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  (loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def introduce_across(
    sa: Session, school_a: School, sb: Session, school_b: School, url_a: str, url_b: str
) -> None:
    """Exchange school cards between two databases and confirm the safety numbers both ways."""
    partner_b = enrol_partner(sa, school_a.id, own_card(sb, school_b, url_b))
    partner_a = enrol_partner(sb, school_b.id, own_card(sa, school_a, url_a))
    dsl_a = sa.scalar(select(User).filter_by(school_id=school_a.id, role="dsl"))
    dsl_b = sb.scalar(select(User).filter_by(school_id=school_b.id, role="dsl"))
    confirm_partner(sa, partner_b, pending_safety_number(sa, partner_b), dsl_a)
    confirm_partner(sb, partner_a, pending_safety_number(sb, partner_a), dsl_b)


@dataclass
class Node:
    """One school's service: gunicorn web, one Celery worker and one beat, each its own process."""

    name: str
    config: dict[str, Any]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    school_id: int = 0
    dsl_id: int = 0
    instance: Instance = field(init=False)

    def __post_init__(self) -> None:
        self.instance = open_instance(self.config)
        self.config = dict(self.instance.config)
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """Return the service's base URL."""
        return str(self.config["PUBLIC_URL"])

    @property
    def port(self) -> int:
        """Return the port gunicorn binds."""
        return int(self.url.rsplit(":", 1)[1])

    def environment(self) -> dict[str, str]:
        """Return each process's environment: settings, secrets as *_FILE, unbuffered output."""
        environment = dict(os.environ)
        for key, value in self.config.items():
            if value is None:
                continue
            if key in SECRET_SETTINGS:
                path = self.logs.parent / f"{self.name}-{key.lower()}"
                path.write_text(str(value) + "\n")
                path.chmod(0o600)
                environment[f"EXCHANGE_{key}_FILE"] = str(path)
            else:
                environment[f"EXCHANGE_{key}"] = str(value)
        environment["GUNICORN_BIND"] = f"127.0.0.1:{self.port}"
        environment["PYTHONUNBUFFERED"] = "1"
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(HERE), environment.get("PYTHONPATH")])
        )
        return environment

    def command(self, role: str) -> list[str]:
        """Return the command line of one role, as deploy/ runs it."""
        python = [str(DEPLOY / "exchange-env"), sys.executable]
        if role == "web":
            return [
                *(*python, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py")),
                *("-w", str(GUNICORN_WORKERS), "topology_app:create()"),
            ]
        celery = [*python, "-m", "celery", "-A", "topology_app"]
        if role == "worker":
            return [
                *celery,
                *("worker", "--loglevel=INFO", "--concurrency=2"),
                f"--hostname=topology-{self.name}@%h",
            ]
        return [*celery, "beat", "--loglevel=INFO"]

    def start(self, role: str, **overrides: str) -> None:
        """Start one role in its own process group (settings overridden), with its own log."""
        environment = self.environment()
        environment.update({f"EXCHANGE_{k}": v for k, v in overrides.items()})
        with (self.logs / f"{self.name}-{role}.log").open("ab") as log:
            self.processes[role] = subprocess.Popen(
                self.command(role),
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=HERE,
            )
        if role == "web":
            wait_for(
                lambda: get(f"{self.url}/readyz")[0] == 200,
                90,
                lambda: f"{self.name} web did not start: {self.tail('web')}",
            )

    def stop(self, role: str, sig: int = signal.SIGTERM) -> None:
        """Stop one role (its whole process group) and wait for it."""
        process = self.processes.pop(role, None)
        if process is None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        """Stop every role."""
        for role in list(self.processes):
            self.stop(role)

    def send(self, task: str, *args: Any) -> None:
        """Queue a task by name for this node's worker, as an operator can."""
        app = make_celery(self.config)
        with app.connection_for_write() as connection:
            app.send_task(task, args=list(args), connection=connection, ignore_result=True)
        app.close()

    def act(self, transfer_id: int, action: str, **inputs: Any) -> None:
        """Take a workflow action as the school's DSL; queue its effects as the web does."""
        from exchange.outbox.service import celery_sender, dispatch, written_in
        from exchange.transfers import workflow

        with transaction(self.instance.sessions) as session:
            dsl = Actor.of(session.get(User, self.dsl_id))
            workflow.apply(
                session, self.instance, session.get(Transfer, transfer_id), action, dsl, **inputs
            )
            pending = written_in(session)
        app = make_celery(self.config)
        dispatch(self.instance.sessions, celery_sender(app), pending)
        app.close()

    def transfer(self, uid: str) -> Transfer | None:
        """Return this node's row of a transfer."""
        with self.instance.sessions() as session:
            return session.scalar(
                select(Transfer).filter_by(school_id=self.school_id, transfer_uid=uid)
            )

    def metrics(self) -> dict[str, float]:
        """Scrape /metrics with the bearer token, as Prometheus does, and return its samples."""
        token = self.config["METRICS_TOKEN"]
        status, body = get(f"{self.url}/metrics", headers={"Authorization": f"Bearer {token}"})
        assert status == 200, body
        samples = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                samples[key] = float(value)
        return samples

    def health(self) -> dict[str, Any]:
        """Return the /healthz body."""
        body = get(f"{self.url}/healthz")[1]
        return json.loads(body) if body else {}

    def tail(self, role: str) -> str:
        """Return the end of one role's log."""
        path = self.logs / f"{self.name}-{role}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def log_text(self) -> str:
        """Return every log this node wrote."""
        return "".join(p.read_text(errors="replace") for p in self.logs.glob(f"{self.name}-*.log"))
