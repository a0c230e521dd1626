"""Import every model module so the metadata and the ORM listeners are complete."""

from importlib import import_module
from importlib.util import find_spec

from exchange.db import Base
from exchange.records import history, models, scoping  # noqa: F401

# Packages built alongside register their tables when present.
for _name in ("exchange.audit.models", "exchange.packaging.models"):
    if find_spec(_name.rsplit(".", 1)[0]) and find_spec(_name):
        import_module(_name)

metadata = Base.metadata
