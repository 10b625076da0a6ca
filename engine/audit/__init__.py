"""The audit trail's trust: keys that seal history events, and checkpoints kept elsewhere.

keys.py        AuditKeys: HMAC-SHA256 keys with ids (the first seals, all verify), read from
               FULFIL_AUDIT_KEY or a key file; without keys the chain is plain SHA-256
problems.py    VerifyProblem: what `verify` reports (an instance, its first bad event, why)
checkpoint.py  a signed export of every instance's head and every lane's head, and the
               comparison of a store against one (deleted instances, cut histories)
"""

from __future__ import annotations

from .keys import UNKEYED, AuditKeys, keys_from

__all__ = ["UNKEYED", "AuditKeys", "keys_from"]
