"""Writes the researcher's dashboard needs beyond the study services: sharing, peeking
at accuracy, audited downloads and browser uploads of corpora."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from studies.models import Study
from studies.selectors.dashboard import accuracy_summary
from studies.services.corpora import CorpusImportError, ImportResult, corpus_import
from studies.services.studies import StudyError, audit


@transaction.atomic
def study_share(*, study: Study, username: str, actor=None) -> Any:
    """Share ``study`` with the researcher called ``username``."""
    User = get_user_model()
    user = User.objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise StudyError(f"no active researcher called {username.strip()!r}")
    if user.pk == study.owner_id:
        raise StudyError(f"{user.get_username()} owns this study already")
    study.shared_with.add(user)
    if study.corpus.owner_id is not None and study.corpus.owner_id != user.pk:
        study.corpus.shared_with.add(user)  # to copy the study, they need its articles
    audit(study=study, action="share", actor=actor, user=user.get_username())
    return user


@transaction.atomic
def study_unshare(*, study: Study, user_id: int, actor=None) -> None:
    user = study.shared_with.filter(pk=user_id).first()
    if user is None:
        raise StudyError("the study is not shared with that researcher")
    study.shared_with.remove(user)
    audit(study=study, action="unshare", actor=actor, user=user.get_username())


@transaction.atomic
def peek_opt_in(*, study: Study, actor=None) -> Study:
    """Record the researcher's explicit choice to see accuracy before the study closes."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if not study.peek_allowed:
        study.peek_allowed = True
        study.save(update_fields=["peek_allowed"])
        audit(study=study, action="peek_opt_in", actor=actor)
    return study


@transaction.atomic
def accuracy_look(*, study: Study, actor=None) -> list[dict[str, Any]]:
    """Accuracy so far. Before the study closes this is a peek: it needs the researcher's
    explicit opt-in (``peek_allowed``, set here on first use) and every look is audited,
    because looking and stopping early inflates false positives."""
    from studies.models import JudgeItem

    answered = JudgeItem.objects.filter(
        judge__study=study, judge__test=False, answered_at__isnull=False
    ).exists()
    if study.status != Study.Status.CLOSED and answered:
        # With no answers there is nothing to see: no look to log, no opt-in to record.
        study = peek_opt_in(study=study, actor=actor)
        audit(study=study, action="peek", actor=actor, status=study.status, via="monitor")
    return accuracy_summary(study)


def download_audit(*, study: Study, actor, filename: str, payments: bool = False) -> None:
    """Every download from the dashboard is an export, and goes into the audit log."""
    audit(
        study=study, action="export", actor=actor, file=filename, via="dashboard", payments=payments
    )


def _safe_name(name: str) -> str:
    base = Path(name).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base) or "upload"


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass


def corpus_upload(*, name: str, filename: str, chunks, actor=None) -> ImportResult:
    """Keep an uploaded corpus file under ``VAR_DIR/uploads`` and import it.

    The problems name the file as uploaded (not the path it is kept at), with line and
    field, exactly as ``import_corpus`` reports them. A refused file is not kept.
    """
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    folder = Path(settings.VAR_DIR) / "uploads" / "corpora" / stamp
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _safe_name(filename)
    with path.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    try:
        result = corpus_import(path=path, name=name, owner=actor)
    except CorpusImportError as exc:
        _discard(path)
        raise CorpusImportError([p.replace(str(path), path.name) for p in exc.problems]) from None
    except BaseException:
        _discard(path)  # nothing is kept from a refused upload, whatever refused it
        raise
    result.warnings = [w.replace(str(path), path.name) for w in result.warnings]
    return result
