"""Import every model module so the metadata and the ORM listeners are complete."""

from exchange.audit import models as audit_models
from exchange.auth import models as auth_models  # noqa: F401  (web sign-in tables)
from exchange.db import Base
from exchange.outbox import models as outbox_models
from exchange.packaging import models as packaging_models
from exchange.partners import models as partner_models
from exchange.records import history, models, scoping
from exchange.retention import models as retention_models
from exchange.subject_access import models as subject_access_models
from exchange.transfers import models as transfer_models
from exchange.transfers import openings as transfer_openings
from exchange.vault import sealing

REGISTERED = (
    audit_models,
    packaging_models,
    partner_models,
    history,
    outbox_models,
    retention_models,
    models,
    scoping,
    subject_access_models,
    transfer_models,
    transfer_openings,
)
metadata = Base.metadata
sealing.install()
