"""The JSON API for a school's other systems, authenticated with scoped API tokens."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, abort, g, jsonify, request
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select

from exchange.audit.service import record_event
from exchange.auth.models import ApiToken
from exchange.auth.permissions import API_SCOPES
from exchange.auth.tokens import authenticate_token
from exchange.errors import ExchangeError
from exchange.records.scoping import scope_session
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import OUTGOING, Transfer
from exchange.transfers.workflow import record_refusal
from exchange.web.access import instance
from exchange.web.api_schemas import (
    ErrorSchema,
    ReceiptListSchema,
    TransferListSchema,
    TransferQuerySchema,
    TransferSchema,
    WithdrawSchema,
)

api = Blueprint("api", __name__, url_prefix="/api")
OPERATIONS: list[tuple[str, str, str, str, str]] = [
    # (path, operation id, scope, response schema, summary)
    ("/api/transfers", "listTransfers", "transfers:read", "TransferList", "List transfers"),
    ("/api/transfers/{transfer_uid}", "getTransfer", "transfers:read", "Transfer", "Get one"),
    ("/api/receipts", "listReceipts", "receipts:read", "ReceiptList", "List receipts"),
]
WRITE_OPERATIONS: list[tuple[str, str, str, str, str, str]] = [
    # (path, operation id, scope, request schema, response schema, summary)
    (
        "/api/transfers/{transfer_uid}/withdraw",
        "withdrawTransfer",
        "transfers:withdraw",
        "Withdraw",
        "Transfer",
        "Withdraw an outgoing transfer that has not been delivered",
    ),
]


def _authorise(scope: str) -> int:
    """Check the bearer token and its scope; scope the request's session to its school."""
    return _token(scope).school_id


def _token(scope: str) -> ApiToken:
    """Return the live bearer token holding this scope, with the session scoped to its school."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(401, "send an API token: Authorization: Bearer <token>")
    g.db = instance().sessions()
    token = authenticate_token(g.db, header.removeprefix("Bearer "))
    if token is None:
        abort(401, "the API token is not valid or was revoked")
    if scope not in token.scopes:
        abort(403, f"the API token lacks the {scope} scope")
    scope_session(g.db, token.school_id)
    return token


@api.route("/transfers")
def list_transfers() -> Any:
    """Return the school's transfers, optionally filtered by state and direction."""
    school_id = _authorise("transfers:read")
    try:
        filters = TransferQuerySchema().load(request.args)
    except SchemaError as exc:
        return jsonify({"error": "invalid_input", "message": str(exc.messages)}), 400
    query = select(Transfer).where(Transfer.school_id == school_id).order_by(Transfer.id)
    for name, value in filters.items():
        query = query.where(getattr(Transfer, name) == value)
    rows = g.db.scalars(query).all()
    return jsonify(TransferListSchema().dump({"transfers": rows}))


@api.route("/transfers/<transfer_uid>")
def get_transfer(transfer_uid: str) -> Any:
    """Return one transfer's metadata by its shared id."""
    school_id = _authorise("transfers:read")
    row = g.db.scalar(
        select(Transfer).where(
            Transfer.school_id == school_id, Transfer.transfer_uid == transfer_uid
        )
    )
    if row is None:
        abort(404, "no such transfer")
    return jsonify(TransferSchema().dump(row))


@api.route("/transfers/<transfer_uid>/withdraw", methods=["POST"])
def withdraw_transfer(transfer_uid: str) -> Any:
    """Withdraw an outgoing transfer that has not been delivered, with a reason."""
    token = _token("transfers:withdraw")
    try:
        body = WithdrawSchema().load(request.get_json(silent=True) or {})
    except SchemaError as exc:
        return jsonify({"error": "invalid_input", "message": str(exc.messages)}), 400
    row = g.db.scalar(
        select(Transfer).where(
            Transfer.school_id == token.school_id,
            Transfer.transfer_uid == transfer_uid,
            Transfer.direction == OUTGOING,
        )
    )
    if row is None:
        abort(404, "no such transfer")
    # The state machine lets only the DSL roles withdraw; a token with this scope acts for the
    # school's DSL, and the log names the token beside the step.
    actor = Actor(
        role="dsl",
        name=f"API token {token.prefix}",
        request_id=g.get("request_id"),
        school_id=token.school_id,
    )
    try:
        workflow.apply(g.db, instance(), row, "withdraw", actor, reason=body["reason"])
    except ExchangeError as error:
        g.db.rollback()
        if record_refusal(g.db, error):
            g.db.commit()
        raise
    record_event(
        g.db,
        token.school_id,
        None,
        "api_token",
        "api.transfer_withdrawn",
        "transfer",
        row.transfer_uid,
        g.get("request_id"),
        {"token_id": token.id, "token_prefix": token.prefix},
    )
    return jsonify(TransferSchema().dump(row))


@api.route("/receipts")
def list_receipts() -> Any:
    """Return the receipts ledger."""
    school_id = _authorise("receipts:read")
    rows = g.db.scalars(
        select(Transfer)
        .where(Transfer.school_id == school_id, Transfer.receipt_jws.is_not(None))
        .order_by(Transfer.id)
    ).all()
    return jsonify(ReceiptListSchema().dump({"receipts": rows}))


@api.route("/openapi.json")
def openapi() -> Any:
    """Return the OpenAPI document generated from the schemas."""
    return jsonify(build_spec().to_dict())


def build_spec() -> APISpec:
    """Assemble the OpenAPI 3.1 document from the marshmallow schemas."""
    spec = APISpec(
        title="Safeguarding exchange school API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Transfer metadata and receipts; never case content."},
    )
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for name, schema in (
        ("Transfer", TransferSchema),
        ("TransferList", TransferListSchema),
        ("ReceiptList", ReceiptListSchema),
        ("Error", ErrorSchema),
        ("Withdraw", WithdrawSchema),
    ):
        spec.components.schema(name, schema=schema)
    for path, operation_id, scope, response, summary in OPERATIONS:
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "summary": summary,
            "security": [{"token": []}],
            "description": f"Needs a token with the `{scope}` scope.",
            "responses": {
                "200": {"description": "OK", "content": _json(response)},
                "401": {"description": "No valid token", "content": _json("Error")},
                "403": {"description": "The token lacks the scope", "content": _json("Error")},
            },
        }
        if "{transfer_uid}" in path:
            operation["parameters"] = [
                {
                    "name": "transfer_uid",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ]
            operation["responses"]["404"] = {
                "description": "No such transfer",
                "content": _json("Error"),
            }
        if operation_id == "listTransfers":
            operation["parameters"] = [
                {"name": "state", "in": "query", "schema": {"type": "string"}},
                {"name": "direction", "in": "query", "schema": {"enum": ["outgoing", "incoming"]}},
            ]
        spec.path(path=path, operations={"get": operation})
    for path, operation_id, scope, request_schema, response, summary in WRITE_OPERATIONS:
        spec.path(
            path=path,
            operations={
                "post": {
                    "operationId": operation_id,
                    "summary": summary,
                    "security": [{"token": []}],
                    "description": f"Needs a token with the `{scope}` scope. Audited.",
                    "parameters": [
                        {
                            "name": "transfer_uid",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {"required": True, "content": _json(request_schema)},
                    "responses": {
                        "200": {"description": "Withdrawn", "content": _json(response)},
                        "400": {"description": "Invalid input", "content": _json("Error")},
                        "401": {"description": "No valid token", "content": _json("Error")},
                        "403": {
                            "description": "The token lacks the scope",
                            "content": _json("Error"),
                        },
                        "404": {"description": "No such transfer", "content": _json("Error")},
                        "409": {
                            "description": "The transfer can no longer be withdrawn",
                            "content": _json("Error"),
                        },
                    },
                }
            },
        )
    scopes = {op[2] for op in OPERATIONS} | {op[2] for op in WRITE_OPERATIONS}
    assert set(API_SCOPES) >= scopes
    return spec


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
