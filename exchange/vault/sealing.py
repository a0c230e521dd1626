"""ORM events that seal fields on write and open them on load, with the row's pupil key.

An insert writes NULL into each sealed column, then, once the row has its id, an UPDATE
with the values sealed for that id (the id is the associated data, so a sealed value
cannot be moved to another row). An update seals the changed values in place. A load or
refresh opens them. Anything that bypasses these events reaches `Sealed` with a plain
value and is refused, so no code path can write a sealed column in clear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event, select, update
from sqlalchemy.orm import Mapper, Session, attributes, object_session
from sqlalchemy.orm.attributes import set_committed_value

from exchange.db import Base
from exchange.errors import CryptoError
from exchange.vault.blind_index import blind_index
from exchange.vault.fields import decode_value, field_context, offer_field_key, unseal
from exchange.vault.keyring import Keyring, keyring
from exchange.vault.sealed_type import Sealed, SealFor

UPN_INDEX = "upn"
_PENDING = "_sealing_pending"

# Each sealed field: (attribute, column name, kind).
Fields = tuple[tuple[str, str, str], ...]
_fields_by_class: dict[type, Fields] = {}


def sealed_fields(cls: type) -> Fields:
    """Return the sealed fields of a mapped class (cached)."""
    found = _fields_by_class.get(cls)
    if found is None:
        mapper: Mapper[Any] = cls.__mapper__  # type: ignore[attr-defined]
        found = tuple(
            (prop.key, prop.columns[0].name, prop.columns[0].type.kind)
            for prop in mapper.column_attrs
            if isinstance(prop.columns[0].type, Sealed)
        )
        _fields_by_class[cls] = found
    return found


def _defaults(cls: type) -> dict[str, Callable[[], Any]]:
    mapper: Mapper[Any] = cls.__mapper__  # type: ignore[attr-defined]
    return {
        prop.key: prop.columns[0].info["sealed_default"]
        for prop in mapper.column_attrs
        if "sealed_default" in prop.columns[0].info
    }


def _parent_pupil(
    connection: Connection, cache: dict[int, Any], table: str, parent_id: int | None
) -> int | None:
    if parent_id is None:
        return None
    if parent_id not in cache:
        parent = Base.metadata.tables[table]
        cache[parent_id] = connection.execute(
            select(parent.c.pupil_id).where(parent.c.id == parent_id)
        ).scalar()
    return cache[parent_id]


def _row_pupil(target: Any, connection: Connection, ring: Keyring) -> int | None:
    table = target.__table__.name
    if table == "pupils":
        return target.id
    if table in ("incident_actions", "incident_edits"):
        return _parent_pupil(connection, ring.incident_pupils, "incidents", target.incident_id)
    if table == "redacted_texts":
        return _parent_pupil(connection, ring.transfer_pupils, "transfers", target.transfer_id)
    return target.pupil_id


def _key_and_context(
    target: Any, connection: Connection, ring: Keyring, *, create: bool = False
) -> Callable[[str], tuple[bytes, bytes]]:
    pupil_id = _row_pupil(target, connection, ring)
    if pupil_id is None and target.__table__.name == "transfers":
        # An incoming offer of a child with no record (and no key) here yet: protocol 1.3's
        # offered name is sealed under a key derived from the instance key, as pupil 0.
        key, pupil_id = offer_field_key(ring.instance_key, target.school_id), 0
    elif pupil_id is None:
        raise CryptoError(f"a {target.__table__.name} row with case content needs a pupil")
    else:
        key = ring.field_key(connection, target.school_id, pupil_id, create=create)

    def place(column: str) -> tuple[bytes, bytes]:
        return key, field_context(
            target.__table__.name, column, target.school_id, pupil_id, target.id
        )

    return place


def _ring_of(target: Any) -> Keyring:
    session = object_session(target)
    if session is None:
        raise CryptoError("sealed rows are written through a session")
    return keyring(session)


def _index_upn(target: Any, ring: Keyring) -> None:
    if target.__table__.name == "pupils" and target.upn is not None:
        target.upn_index = blind_index(ring.instance_key, UPN_INDEX, target.school_id, target.upn)


def _before_insert(_mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
    fields = sealed_fields(type(target))
    if not fields:
        return
    _index_upn(target, _ring_of(target))
    pending = {}
    defaults = _defaults(type(target))
    for attr, _column, _kind in fields:
        value = target.__dict__.get(attr)
        if value is None and attr in defaults:
            value = defaults[attr]()
        if value is not None:
            pending[attr] = value
            target.__dict__[attr] = None
    target.__dict__[_PENDING] = pending


def _after_insert(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    pending = target.__dict__.pop(_PENDING, None)
    if not pending:
        return
    place = _key_and_context(target, connection, _ring_of(target), create=True)
    columns = {attr: column for attr, column, _kind in sealed_fields(type(target))}
    values = {
        columns[attr]: SealFor(value, *place(columns[attr])) for attr, value in pending.items()
    }
    table = target.__table__
    connection.execute(update(table).where(table.c.id == target.id).values(values))
    for attr, value in pending.items():
        set_committed_value(target, attr, value)


def _before_update(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    fields = sealed_fields(type(target))
    if not fields:
        return
    ring = _ring_of(target)
    moved = any(
        attributes.get_history(target, name).has_changes()
        for name in ("pupil_id", "incident_id", "transfer_id")
        if hasattr(type(target), name)
    )
    changed = [
        (attr, column)
        for attr, column, _kind in fields
        if attr in target.__dict__ and (moved or attributes.get_history(target, attr).has_changes())
    ]
    if any(attr == "upn" for attr, _column in changed):
        _index_upn(target, ring)
    if not any(target.__dict__[attr] is not None for attr, _column in changed):
        return
    place = _key_and_context(target, connection, ring, create=True)
    pending = {}
    for attr, column in changed:
        value = target.__dict__[attr]
        pending[attr] = value
        if value is not None:
            setattr(target, attr, SealFor(value, *place(column)))
    target.__dict__[_PENDING] = pending


def _after_update(_mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
    for attr, value in target.__dict__.pop(_PENDING, {}).items():
        set_committed_value(target, attr, value)


def open_fields(target: Any, session: Session, only: Any = None) -> None:
    """Replace the sealed bytes loaded into target by their values."""
    fields = sealed_fields(type(target))
    if not fields:
        return
    ring = keyring(session)
    if target.__table__.name == "incidents":
        ring.incident_pupils[target.id] = target.pupil_id
    loaded = [
        (attr, column, kind)
        for attr, column, kind in fields
        if isinstance(target.__dict__.get(attr), bytes) and (only is None or attr in only)
    ]
    if not loaded:
        return
    place = _key_and_context(target, session.connection(), ring)
    for attr, column, kind in loaded:
        key, context = place(column)
        set_committed_value(
            target, attr, decode_value(kind, unseal(key, context, target.__dict__[attr]))
        )


def open_value(
    session: Session, model: type, attr: str, school_id: int, pupil_id: int, row_id: int, raw: Any
) -> Any:
    """Open one sealed value read with a Core select (None stays None)."""
    if raw is None:
        return None
    column, kind = next((c, k) for a, c, k in sealed_fields(model) if a == attr)
    key = keyring(session).field_key(session.connection(), school_id, pupil_id)
    context = field_context(model.__table__.name, column, school_id, pupil_id, row_id)  # type: ignore[attr-defined]
    return decode_value(kind, unseal(key, context, raw))


def upn_index(session: Session, school_id: int, upn: str) -> str:
    """Return the blind index that finds a pupil by UPN within a school."""
    return blind_index(keyring(session).instance_key, UPN_INDEX, school_id, upn)


def _on_load(target: Any, _context: Any) -> None:
    session = object_session(target)
    if session is not None and sealed_fields(type(target)):
        open_fields(target, session)


def _on_refresh(target: Any, _context: Any, attrs: Any) -> None:
    session = object_session(target)
    if session is not None and sealed_fields(type(target)):
        open_fields(target, session, attrs)


def _forget_keys(session: Session, *_args: Any) -> None:
    session.info.pop("sealing_keyring", None)


def install() -> None:
    """Listen on every mapped class; idempotent."""
    if event.contains(Base, "before_insert", _before_insert):
        return
    event.listen(Base, "before_insert", _before_insert, propagate=True)
    event.listen(Base, "after_insert", _after_insert, propagate=True)
    event.listen(Base, "before_update", _before_update, propagate=True)
    event.listen(Base, "after_update", _after_update, propagate=True)
    event.listen(Base, "load", _on_load, propagate=True)
    event.listen(Base, "refresh", _on_refresh, propagate=True)
    event.listen(Session, "after_soft_rollback", _forget_keys)


def sealed_values(
    session: Session, model: type, row: dict[str, Any], pupil_id: int
) -> dict[str, Any]:
    """Return a Core insert row (with its id) whose sealed fields are ready to be sealed.

    A new pupil row gets a new data key, saved by keyring(session).store_new_keys() once
    the pupil rows are inserted.
    """
    ring = keyring(session)
    school_id, table = row["school_id"], model.__table__.name  # type: ignore[attr-defined]
    if table == "pupils":
        key = ring.new_field_key(school_id, pupil_id)
    else:
        key = ring.field_key(session.connection(), school_id, pupil_id, create=True)
    ready = dict(row)
    for _attr, column, _kind in sealed_fields(model):
        if ready.get(column) is not None:
            context = field_context(table, column, school_id, pupil_id, row["id"])
            ready[column] = SealFor(ready[column], key, context)
    if table == "pupils":
        ready["upn_index"] = blind_index(ring.instance_key, UPN_INDEX, school_id, row["upn"])
    return ready
