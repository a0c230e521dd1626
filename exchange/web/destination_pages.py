"""Send a child's file somewhere other than a partner school, or set an unknown destination."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from exchange.audit.service import record_event
from exchange.errors import ValidationError
from exchange.partners import destinations
from exchange.partners.models import Partner
from exchange.records.models import Pupil
from exchange.transfers import workflow
from exchange.transfers.models import OUTGOING, Transfer
from exchange.web.access import attempt, current_school, db, instance, own, requires
from exchange.web.transfer_pages import _actor

destination_pages = Blueprint("destination_pages", __name__, url_prefix="/transfers")
FIELDS = (
    "name",
    "identifier",
    "laestab",
    "country",
    "address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "purpose",
)


def _destination_from(form: Any, errors: dict[str, str]) -> Partner | None:
    """Validate the form's destination and keep it in the directory; None with errors."""
    kind = form.get("kind", "")
    try:
        found = destinations.validate(kind, **{name: form.get(name) for name in FIELDS})
    except destinations.DestinationInvalid as refused:
        for field, message in refused.fields.items():
            errors[field] = message[:1].upper() + message[1:]
        return None
    try:
        partner = destinations.keep(db(), current_school().id, found)
    except ValidationError as refused:
        errors[refused.where or "kind"] = refused.message[:1].upper() + refused.message[1:]
        return None
    actor = _actor()
    record_event(
        db(),
        partner.school_id,
        actor.user_id,
        actor.role,
        "destination.added",
        "partner",
        str(partner.id),
        actor.request_id,
        {"kind": partner.kind},
    )
    return partner


def _render(template: str, errors: dict[str, str], **context: Any) -> Any:
    return render_template(
        template,
        errors=errors,
        form=request.form,
        kinds=destinations.KIND_WORDS,
        purposes=destinations.PURPOSES,
        **context,
    ), (400 if errors else 200)


@destination_pages.route("/new/<int:pupil_id>/elsewhere", methods=["GET", "POST"])
@requires("manage_transfers")
def start_elsewhere(pupil_id: int) -> Any:
    """Start a transfer to a school without the service, a local authority, or nowhere known."""
    child = own(Pupil, pupil_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        partner = _destination_from(request.form, errors)
        if partner is not None:
            created: list[Transfer] = []

            def start() -> None:
                created.append(
                    workflow.start(
                        db(),
                        instance(),
                        current_school(),
                        "create",
                        _actor(),
                        pupil=child,
                        partner=partner,
                    )
                )

            message = attempt(start)
            if message:
                errors["kind"] = message
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=created[0].id))
    return _render("transfers/destination.html", errors, pupil=child, transfer=None)


@destination_pages.route("/<int:transfer_id>/destination", methods=["GET", "POST"])
@requires("manage_transfers")
def set_destination(transfer_id: int) -> Any:
    """Set where a draft goes once an unknown destination is known, or correct it."""
    transfer = own(Transfer, transfer_id)
    if transfer.direction != OUTGOING:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        partner = _destination_from(request.form, errors)
        if partner is not None:
            message = attempt(
                lambda: workflow.apply(
                    db(), instance(), transfer, "set_destination", _actor(), partner=partner
                )
            )
            if message:
                errors["kind"] = message[:1].upper() + message[1:]
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return _render("transfers/destination.html", errors, pupil=None, transfer=transfer)
