"""`exchange serve`: the web app and a real Celery worker with embedded beat, in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import click

from exchange.config import DEFAULTS
from exchange.instance import Instance
from exchange.migrate import upgrade

PASSED_TO_WORKER = (
    "DATABASE_URL",
    "BROKER_URL",
    "RESULT_BACKEND",
    "INSTANCE_KEY",
    "TASK_QUEUE",
    "HEARTBEAT_SECONDS",
    "CHECKPOINT_SECONDS",
    "PUBLIC_URL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_FROM",
    "PURGE_TIME",
    "PURGE_SCHEDULE_SECONDS",
    "LOG_LEVEL",
)


def worker_command(instance: Instance, *, beat: bool = True, concurrency: int = 2) -> list[str]:
    """Return the command line that starts this instance's Celery worker."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "exchange.tasks.worker",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        f"--hostname=exchange-{os.getpid()}@%h",
    ]
    if beat:
        command += ["--beat", f"--schedule={instance.home / 'celerybeat-schedule'}"]
    return command


def worker_environment(instance: Instance) -> dict[str, str]:
    """Return the environment that points a worker at the same instance."""
    environment = dict(os.environ)
    environment["EXCHANGE_HOME"] = str(instance.home)
    for key in PASSED_TO_WORKER:
        value = instance.config.get(key)
        if value:
            environment[f"EXCHANGE_{key}"] = str(value)
    return environment


def _die_with_parent() -> None:
    """Ask Linux to stop the worker if `serve` dies without cleaning up (e.g. SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Serve the web app only (a worker runs elsewhere).")
@click.pass_obj
def serve(obj: dict[str, Any], host: str, port: int, no_worker: bool) -> None:
    """Run the web app with a Celery worker and its embedded beat."""
    from waitress import serve as waitress_serve

    from exchange.web import create_app

    instance: Instance = obj["instance"]
    if instance.config["PUBLIC_URL"] == DEFAULTS["PUBLIC_URL"]:
        # Without a public address set, partners on this machine reach us where we listen.
        instance.config["PUBLIC_URL"] = f"http://{host}:{port}"
    upgrade(
        instance.engine,
        instance_key=lambda: instance.instance_key,
        wrapping_key_dir=instance.wrapping_key_dir,
    )
    instance.instance_key  # noqa: B018  (create the key file before the worker starts)
    worker = None
    if not no_worker:
        worker = subprocess.Popen(
            worker_command(instance),
            env=worker_environment(instance),
            preexec_fn=_die_with_parent,  # Only sets the parent-death signal: fork-safe.
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"serving on http://{host}:{port}/  (health: http://{host}:{port}/healthz)")
    try:
        waitress_serve(create_app(), host=host, port=port, threads=8, ident="exchange")
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


@click.command()
@click.option("--beat/--no-beat", default=False, help="Also run the scheduler in this worker.")
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.pass_obj
def worker(obj: dict[str, Any], beat: bool, concurrency: int) -> None:
    """Run a Celery worker for this instance (production runs beat separately)."""
    instance: Instance = obj["instance"]
    command = worker_command(instance, beat=beat, concurrency=concurrency)
    os.execve(sys.executable, command, worker_environment(instance))  # noqa: S606
