"""Who may see and change a study. Every researcher view goes through these functions.

A researcher sees and changes the studies they own or that are shared with them; staff
see and change all. Anything else is a 404, never a 403, so that a study's existence
does not leak to other researchers. Judges have no user account and never get here.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from studies.models import Corpus, Study


def studies_for_user(user) -> QuerySet[Study]:
    """The studies ``user`` may see, newest first."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Study.objects.none()
    if user.is_staff:
        return Study.objects.all()
    return Study.objects.filter(Q(owner=user) | Q(shared_with=user)).distinct()


def corpora_for_user(user) -> QuerySet[Corpus]:
    """The corpora ``user`` may use in a spec: their own, those shared with them, and the
    operator's (no owner); staff may use all."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Corpus.objects.none()
    if user.is_staff:
        return Corpus.objects.all()
    return Corpus.objects.filter(
        Q(owner=user) | Q(shared_with=user) | Q(owner__isnull=True)
    ).distinct()


def corpus_for_spec(name: str, owner) -> Corpus | None:
    """The corpus a spec's ``corpus = name`` means for ``owner``: their own first, then one
    shared with them, then the operator's. Without an owner (a management command run by
    the operator), the operator's corpus, or the only one of that name."""
    named = Corpus.objects.filter(name=name)
    if owner is None:
        site = named.filter(owner__isnull=True).first()
        return site or (named.first() if named.count() == 1 else None)
    for qs in (
        named.filter(owner=owner),
        named.filter(shared_with=owner),
        named.filter(owner__isnull=True),
    ):
        corpus = qs.order_by("pk").first()
        if corpus is not None:
            return corpus
    if owner.is_staff:
        return named.order_by("pk").first()
    return None


def can_administer(user, study: Study) -> bool:
    """Owner-only powers: sharing, and the restricted payments file."""
    return bool(user.is_staff or (study.owner_id is not None and study.owner_id == user.pk))


def access_study_by_user(user, slug: str, *, write: bool = False, owner: bool = False) -> Study:
    """The study ``slug`` if ``user`` may see it (or change it, with ``write``), else 404.

    Owner, shared researchers and staff may read and write; ``owner=True`` narrows to the
    owner and staff (sharing, payments).
    """
    study = studies_for_user(user).filter(slug=slug).first()
    if study is None:
        raise Http404("No such study.")
    if owner and not can_administer(user, study):
        raise Http404("No such study.")
    return study
