"""Deleting a judge's data on request (a withdrawal after the fact, e.g. under the GDPR).

Not to be confused with ``judging.judge_withdraw``, the judge's own "I decline" during a
study, which frees the slot and keeps any answers.
"""

from __future__ import annotations

from django.db import transaction

from studies.models import Judge
from studies.services.studies import audit


@transaction.atomic
def judge_data_delete(*, judge: Judge, actor=None) -> None:
    """Delete a judge and every answer they gave; exports and reports no longer contain them.

    The audit log keeps the pseudonym and who asked (action "withdraw").
    """
    audit(study=judge.study, action="withdraw", actor=actor, judge=judge.pseudonym)
    judge.delete()
