"""Reading the evidence log for auditors and exports: checkpoints, proofs, the public key."""

from __future__ import annotations

import base64

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from models import LogCheckpoint
from services import translog


def checkpoint_dict(checkpoint: LogCheckpoint) -> dict:
    """A checkpoint as the API and exports show it (the timestamp token base64-encoded)."""
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "note": checkpoint.note,
        "key_name": checkpoint.key_name,
        "created_at": checkpoint.created_at,
        "tsa_status": checkpoint.tsa_status,
        "tsa_kind": checkpoint.tsa_kind,
        "tsa_gen_time": checkpoint.tsa_gen_time,
        "tsa_token": base64.b64encode(checkpoint.tsa_token).decode() if checkpoint.tsa_token else None,
    }


def latest(session: Session) -> dict:
    """The latest signed checkpoint."""
    checkpoint = translog.latest_checkpoint(session)
    if checkpoint is None:
        raise errors.DomainError(errors.LOG_NO_CHECKPOINT)
    return checkpoint_dict(checkpoint)


def all_checkpoints(session: Session, limit: int = 100) -> list[dict]:
    """The newest checkpoints first."""
    rows = session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc()).limit(limit)).all()
    return [checkpoint_dict(c) for c in rows]


def _size_or_current(session: Session, size: int | None) -> int:
    current = translog.tree_size(session)
    if size is None:
        checkpoint = translog.latest_checkpoint(session)
        return checkpoint.tree_size if checkpoint else current
    if not 0 < size <= current:
        raise errors.DomainError(errors.LOG_BAD_RANGE, details={"tree_size": size, "current_size": current})
    return size


def inclusion(session: Session, leaf_index: int, tree_size: int | None) -> dict:
    """Inclusion proof of a leaf; ``tree_size`` defaults to the latest checkpoint's size."""
    size = _size_or_current(session, tree_size)
    if not 0 <= leaf_index < size:
        raise errors.DomainError(errors.LOG_BAD_RANGE, details={"leaf_index": leaf_index, "tree_size": size})
    return translog.inclusion_proof(session, leaf_index, size)


def consistency(session: Session, old_size: int, new_size: int | None) -> dict:
    """Consistency proof between two sizes; ``new_size`` defaults to the latest checkpoint's size."""
    size = _size_or_current(session, new_size)
    if not 0 < old_size <= size:
        raise errors.DomainError(errors.LOG_BAD_RANGE, details={"old_size": old_size, "new_size": size})
    return translog.consistency_proof(session, old_size, size)


def public_key(signer) -> dict:
    """Name and Ed25519 public key of the log."""
    return translog.public_key_info(signer)
