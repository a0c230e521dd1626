"""The DPO's pages: receipts ledger and evidence packs, retention and holds, audit status."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, send_file, url_for
from sqlalchemy import inspect, select

from exchange.audit.service import verify_log
from exchange.errors import ExchangeError
from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of
from exchange.receipts.evidence import verify_pack
from exchange.receipts.offline_evidence import is_offline_pack, verify_offline_pack
from exchange.receipts.service import export_pack
from exchange.retention.rules import london_today
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.web.access import (
    current_user,
    db,
    has_fresh_second_factor,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)

dpo_pages = Blueprint("dpo_pages", __name__)


def _receipted(transfer_id: int) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if not transfer.receipt_jws:
        from flask import abort

        abort(404)
    return transfer


@dpo_pages.route("/receipts")
@requires("view_receipts")
def receipts() -> Any:
    """List every transfer with a receipt, newest first."""
    rows = (
        db()
        .scalars(
            select(Transfer).where(Transfer.receipt_jws.is_not(None)).order_by(Transfer.id.desc())
        )
        .all()
    )
    return render_template("dpo/receipts.html", transfers=rows)


def _export(transfer: Transfer, folder: Path) -> Path:
    return export_pack(db(), transfer, folder / "pack")


@dpo_pages.route("/receipts/<int:transfer_id>/verify")
@requires("view_receipts")
def verify_receipt(transfer_id: int) -> Any:
    """Check the receipt and countersignature against the keys, as the offline checker would."""
    transfer = _receipted(transfer_id)
    with tempfile.TemporaryDirectory() as folder:
        try:
            pack = _export(transfer, Path(folder))
            check = verify_offline_pack if is_offline_pack(pack) else verify_pack
            result, problem = check(pack), None
        except ExchangeError as exc:
            result, problem = None, exc.message
    return render_template(
        "dpo/verify.html", transfer=transfer, evidence=result, problem=problem
    ), (200 if problem is None else 422)


@dpo_pages.route("/receipts/<int:transfer_id>/evidence.zip")
@requires("view_receipts")
def evidence_pack(transfer_id: int) -> Any:
    """Download the evidence pack as a zip file."""
    transfer = _receipted(transfer_id)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        try:
            pack = _export(transfer, Path(folder))
        except ExchangeError as exc:
            return render_template("error.html", title="No evidence pack", message=exc.message), 409
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(pack.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(pack).as_posix())
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"evidence-{transfer.transfer_uid}.zip",
    )


@dpo_pages.route("/retention")
@requires("view_retention")
def retention() -> Any:
    """Show the retention forecast, the holds and the disposal certificates."""
    from exchange.retention.holds import list_holds
    from exchange.retention.models import DisposalCertificate

    user = current_user()
    assert user is not None
    if not inspect(db().get_bind()).has_table("legal_holds"):
        return render_template("dpo/retention.html", ready=False)
    from exchange.retention.changes import pending_changes
    from exchange.retention.review import due_list
    from exchange.retention.ruleset import current_rule_set
    from exchange.retention.settings import automatic_disposal

    notice, reviews = due_list(db(), user.school_id, instance().instance_key, london_today())
    holds = list_holds(db(), user.school_id, include_released=True)
    certificates = (
        db().scalars(select(DisposalCertificate).order_by(DisposalCertificate.id.desc())).all()
    )
    return render_template(
        "dpo/retention.html",
        ready=True,
        notice=notice,
        reviews=reviews,
        rules=current_rule_set(db(), user.school_id),
        pending=pending_changes(db(), user.school_id),
        automatic=automatic_disposal(db(), user.school_id),
        holds=holds,
        certificates=certificates,
        errors=g.get("form_errors", {}),
    ), (400 if g.get("form_errors") else 200)


def _retention_step(step: Any, error_key: str) -> Any:
    """Run one retention step as the signed-in user; show the page again if it is refused."""
    try:
        step()
    except ExchangeError as exc:
        _rolled_back(exc)
        if exc.status_code == 404 and error_key != "rule":
            raise
        g.form_errors = {error_key: exc.message}
        return retention()
    return redirect(url_for("dpo_pages.retention"))


def _acting() -> Actor:
    user = current_user()
    assert user is not None
    return Actor.of(user, g.get("request_id"))


@dpo_pages.route("/retention/review/<int:pupil_id>", methods=["POST"])
@requires("approve_disposal")
@requires_fresh_second_factor
def review_pupil(pupil_id: int) -> Any:
    """Approve one pupil's due records for destruction, or hold them instead."""
    from exchange.retention.review import decide

    actor = _acting()
    return _retention_step(
        lambda: decide(
            db(),
            actor.school_id,
            instance().instance_key,
            pupil_id,
            request.form.get("decision", ""),
            actor,  # type: ignore[arg-type]
            today=london_today(),
            reason=request.form.get("reason", ""),
        ),
        f"review-{pupil_id}",
    )


@dpo_pages.route("/retention/rules", methods=["POST"])
@requires("set_retention_rules")
@requires_fresh_second_factor
def change_rule() -> Any:
    """Lengthen a rule at once, or (the DPO) start a shortening's notice period."""
    from exchange.retention.changes import request_change
    from exchange.retention.notify import send_change_notices
    from exchange.retention.ruleset import category_change

    actor = _acting()
    change = category_change(request.form.get("path", ""), request.form.get("rule", ""))
    page = _retention_step(
        lambda: request_change(
            db(),
            actor.school_id,
            change,
            actor,  # type: ignore[arg-type]
            fresh_second_factor=has_fresh_second_factor(),
            today=london_today(),
            notice_days=instance().config["RETENTION_NOTICE_DAYS"],
        ),
        "rule",
    )
    if not g.get("form_errors"):
        db().commit()
        send_change_notices(instance().sessions, instance().config)
    return page


@dpo_pages.route("/retention/changes/<int:change_id>/cancel", methods=["POST"])
@requires("shorten_retention")
@requires_fresh_second_factor
def cancel_rule_change(change_id: int) -> Any:
    """Cancel a rule change still waiting out its notice period."""
    from exchange.retention.changes import cancel_change

    actor = _acting()
    return _retention_step(
        lambda: cancel_change(db(), actor.school_id, change_id, actor),  # type: ignore[arg-type]
        f"change-{change_id}",
    )


@dpo_pages.route("/retention/disposal", methods=["POST"])
@requires("set_disposal_mode")
@requires_fresh_second_factor
def disposal_mode() -> Any:
    """Choose automatic disposal, or a DPO review of the due list before every purge."""
    from exchange.retention.disposal import change_setting

    actor = _acting()
    automatic = request.form.get("mode") == "automatic"
    return _retention_step(
        lambda: change_setting(
            db(),
            actor.school_id,
            "automatic_disposal",
            automatic,
            actor,
            True,  # type: ignore[arg-type]
        ),
        "disposal",
    )


@dpo_pages.route("/retention/holds/<int:hold_id>/release", methods=["POST"])
@requires("release_holds")
@requires_fresh_second_factor
def release_hold(hold_id: int) -> Any:
    """Release a legal hold with a reason."""
    from exchange.retention.holds import release_hold as release

    user = current_user()
    assert user is not None
    try:
        release(
            db(),
            user.school_id,
            hold_id,
            request.form.get("reason", ""),
            Actor.of(user, g.get("request_id")),
        )
    except ExchangeError as exc:
        _rolled_back(exc)
        if exc.status_code == 404:
            raise
        g.form_errors = {f"reason-{hold_id}": exc.message}
        return retention()
    return redirect(url_for("dpo_pages.retention"))


def _rolled_back(error: ExchangeError) -> None:
    """Undo the refused step and keep its audit event where the refusal carries one."""
    from exchange.audit.refusals import record_refusal

    db().rollback()
    if record_refusal(db(), error):
        db().commit()


@dpo_pages.route("/audit")
@requires("view_audit")
def audit_status() -> Any:
    """Recompute the school's audit log and show whether it verifies."""
    user = current_user()
    assert user is not None
    rows = all_public_keys(db(), user.school_id, KIND_SIGNING)
    report = verify_log(db(), user.school_id, {row.key_id: public_key_of(row) for row in rows})
    return render_template("dpo/audit.html", report=report)
