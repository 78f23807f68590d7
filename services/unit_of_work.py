"""Use cases own their transaction: the outermost use case commits on success and rolls back on failure.

A use case called by another joins the caller's transaction (the depth lives in the session's
``info``), so a composite use case still commits once, all or nothing. Handlers, pages, CLI
commands and jobs never commit.
"""

from __future__ import annotations

import functools
from typing import Callable, NoReturn, TypeVar

from sqlalchemy.orm import Session

from core import errors

_DEPTH = "dangan.unit_of_work_depth"
F = TypeVar("F", bound=Callable)


def transaction(use_case: F) -> F:
    """Run ``use_case(session, …)`` as one unit of work on ``session``."""

    @functools.wraps(use_case)
    def run(session: Session, *args, **kwargs):
        depth = session.info.get(_DEPTH, 0)
        session.info[_DEPTH] = depth + 1
        try:
            result = use_case(session, *args, **kwargs)
        except BaseException:
            session.info[_DEPTH] = depth
            if depth == 0:
                session.rollback()
            raise
        session.info[_DEPTH] = depth
        if depth == 0:
            session.commit()
        return result

    return run  # type: ignore[return-value]


def commit_then_raise(session: Session, problem: errors.DomainError) -> NoReturn:
    """Keep what was recorded (a failed login, an audit entry) and still refuse the request."""
    session.commit()
    raise problem
