from .audit import SCHEMA as AUDIT_SCHEMA
from .audit import AuditLog

__all__ = ["AUDIT_SCHEMA", "AuditLog"]
