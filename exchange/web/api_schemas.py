"""Marshmallow schemas of the JSON API: transfer metadata and receipts, never case content."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class TransferSchema(Schema):
    """A transfer's metadata, as the school's other systems may read it."""

    id = fields.Integer(required=True)
    transfer_uid = fields.String(required=True)
    direction = fields.String(required=True, metadata={"enum": ["outgoing", "incoming"]})
    state = fields.String(required=True)
    route = fields.String(required=True)
    partner_urn = fields.Function(lambda t: t.partner.urn, required=True)
    pupil_upn = fields.String(required=True)
    leaving_date = fields.Date(allow_none=True)
    deadline = fields.Date(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True)
    file_count = fields.Integer(allow_none=True)
    receipt_verified_at = fields.DateTime(allow_none=True)


class TransferListSchema(Schema):
    """A page of transfers."""

    transfers = fields.List(fields.Nested(TransferSchema), required=True)


class ReceiptSchema(Schema):
    """A receipt and countersignature pair, as compact JWS, with the transfer's id."""

    transfer_uid = fields.String(required=True)
    direction = fields.String(required=True)
    receipt_jws = fields.String(required=True)
    countersignature_jws = fields.String(allow_none=True)
    receipt_verified_at = fields.DateTime(allow_none=True)


class ReceiptListSchema(Schema):
    """The receipts ledger."""

    receipts = fields.List(fields.Nested(ReceiptSchema), required=True)


class ErrorSchema(Schema):
    """The one error shape of the service."""

    error = fields.String(required=True)
    message = fields.String(required=True)


class TransferQuerySchema(Schema):
    """Filters for the transfer list."""

    state = fields.String()
    direction = fields.String(validate=lambda v: v in ("outgoing", "incoming"))


class WithdrawSchema(Schema):
    """Why an undelivered transfer is withdrawn."""

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Why the transfer is withdrawn; kept with the transfer"},
    )
