"""The download page of an offline package, for a receiving DSL who does not use the service.

Reached only through the emailed link (exchange.transfers.pickup); nobody signs in. The page
names the two schools and the zip's fingerprint, serves the encrypted zip, and takes the
receipt code and the receiving DSL's name. Any bad, expired or used link reads the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_file
from sqlalchemy.orm import Session

from exchange.auth.permissions import SYSTEM
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.outbox.service import forget_pending, written_in
from exchange.packaging.keys import load_signing_key, phone_fingerprint
from exchange.records.models import School
from exchange.transfers import pickup, workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.transfers.steps import audit
from exchange.transfers.workflow_types import ActionRefused
from exchange.web.setup import limiter, send_outbox

pickup_page = Blueprint("pickup_page", __name__, url_prefix="/pickup")

DEAD_LINK = (
    "This link does not work: it has expired, the file has already been confirmed, or the "
    "link was copied wrongly. Ask the sending school's safeguarding lead to send it again."
)


def _instance() -> Instance:
    return current_app.extensions["exchange"]


def _receiver(confirmed_by: str) -> Actor:
    """Return the actor the audit log names: the service, on the receiving DSL's word."""
    return Actor(role=SYSTEM, name=f"receiving DSL on the download page: {confirmed_by}"[:200])


@contextmanager
def _found(token: str) -> Iterator[tuple[Session, Transfer]]:
    """Open this request's own transaction on the transfer the link names; 404 if none."""
    instance = _instance()
    with instance.sessions() as session:
        transfer = pickup.find(session, instance.instance_key, instance.config, token)
        if transfer is None:
            abort(404, DEAD_LINK)
        try:
            yield session, transfer
            session.commit()
        except BaseException:
            session.rollback()
            forget_pending(session)
            raise
        pending = written_in(session)
    send_outbox(pending)


def _page(session: Session, transfer: Transfer, **extra: Any) -> str:
    instance = _instance()
    school = session.get(School, transfer.school_id)
    assert school is not None
    key = load_signing_key(session, school.id, instance.instance_key)
    return render_template(
        "pickup/page.html",
        school=school,
        transfer=transfer,
        fingerprint=phone_fingerprint(key.key_id),
        expires=pickup.expires_at(session, instance.config, transfer),
        **extra,
    )


@pickup_page.route("/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def page(token: str) -> Any:
    """Show what was sent; take the receipt code and the receiving DSL's name."""
    errors: dict[str, str] = {}
    confirmed_by = request.form.get("confirmed_by", "").strip()
    with _found(token) as (session, transfer):
        if request.method == "POST":
            code = request.form.get("code", "")
            if not confirmed_by:
                errors["confirmed_by"] = "Enter your name and your school"
            if not code.strip():
                errors["code"] = "Enter the receipt code from 02-receipt-code.txt in the zip"
            if not errors:
                try:
                    workflow.apply(
                        session,
                        _instance(),
                        transfer,
                        "confirm_on_download_page",
                        _receiver(confirmed_by),
                        code=code,
                        confirmed_by=confirmed_by,
                    )
                except (ValidationError, ActionRefused) as refused:
                    session.rollback()  # Nothing of the refused step is kept.
                    errors["code"] = str(refused)
                else:
                    return render_template("pickup/confirmed.html", transfer=transfer)
        body = _page(session, transfer, errors=errors, confirmed_by=confirmed_by)
    return body, 400 if errors else 200


@pickup_page.route("/<token>/download")
@limiter.limit("20 per hour")
def download(token: str) -> Any:
    """Serve the encrypted zip; each download is audited."""
    with _found(token) as (session, transfer):
        path = _instance().home / "outbox" / f"{transfer.transfer_uid}.zip"
        if not path.is_file():
            abort(404, DEAD_LINK)
        audit(session, transfer, _receiver("not yet named"), "transfer.offline_zip_picked_up")
    response = send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"safeguarding-file-{transfer.transfer_uid[:8]}.zip",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
