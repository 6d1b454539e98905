"""Creating studies from specs, and their lifecycle up to launch and close."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from studies import design as design_lib
from studies.access import corpus_for_spec, studies_for_user
from studies.models import (
    Article,
    AuditEvent,
    Condition,
    Corpus,
    Judge,
    ListEntry,
    Study,
    StudyArticle,
    StudyList,
    Text,
)
from studies.protocol import Design, Protocol
from studies.randomness import derived_key, new_secret, secret_digest
from studies.services.practice import practice_build
from studies.spec import ModelInfo, SpecError, parse_spec_text
from studies.wording import attention_checks, scale_wording


class StudyError(Exception):
    """A study operation that cannot go ahead; the message says why."""


def audit(*, study: Study, action: str, actor=None, **detail: Any) -> AuditEvent:
    return AuditEvent.objects.create(study=study, actor=actor, action=action, detail=detail)


def _models_or_none() -> Mapping[str, ModelInfo] | None:
    from studies.registry import registry_models

    return registry_models()


def articles_select(*, corpus: Corpus, spec: dict[str, Any]) -> list[Article]:
    """The study's articles: explicit ids, or a seeded sample of the filtered corpus."""
    art = spec["articles"]
    qs = Article.objects.filter(corpus=corpus)
    if art["ids"]:
        found = {a.key: a for a in qs.filter(key__in=art["ids"])}
        missing = [k for k in art["ids"] if k not in found]
        if missing:
            raise StudyError(
                f"[articles].ids: not in corpus {corpus.name!r}: {', '.join(missing[:10])}"
            )
        return [found[k] for k in art["ids"]]
    if art["sources"]:
        qs = qs.filter(source__in=art["sources"])
    if art["date_from"]:
        qs = qs.filter(date__gte=art["date_from"])
    if art["date_to"]:
        qs = qs.filter(date__lte=art["date_to"])
    pool = [
        a
        for a in qs.order_by("key")
        if len(a.shown_body.split()) >= art["min_words"]
        and not any(
            s.lower() in (a.title + " " + a.body).lower() for s in art["exclude_containing"]
        )
    ]
    if len(pool) < art["count"]:
        raise StudyError(
            f"[articles]: {art['count']} articles wanted but only {len(pool)} in corpus "
            f"{corpus.name!r} pass the filters"
        )
    return random.Random(f"articles:{spec['seed']}").sample(pool, art["count"])


def context_select(*, corpus: Corpus, exclude: set[int], k: int, seed: int) -> list[Article]:
    """The study's fixed few-shot context: drawn with the seed from outside its articles."""
    if k == 0:
        return []
    pool = list(Article.objects.filter(corpus=corpus).exclude(pk__in=exclude).order_by("key"))
    if len(pool) < k:
        raise StudyError(f"corpus {corpus.name!r} has too few other articles for {k} context")
    return random.Random(f"context:{seed}").sample(pool, k)


def _prepared(
    spec_text: str, models: Mapping[str, ModelInfo] | None, *, slug_taken: bool, owner=None
) -> tuple[dict[str, Any], list[str], Corpus, list[Article], list[Article]]:
    """Parse and check a spec, and pick its articles and context. Raises SpecError or
    StudyError."""
    from studies.selectors.readiness import token_budget_warnings

    spec, warnings = parse_spec_text(spec_text, models=models)
    if slug_taken:
        raise SpecError([f"slug: a study called {spec['slug']!r} exists already"])
    corpus = corpus_for_spec(spec["corpus"], owner)
    if corpus is None:
        raise SpecError(
            [
                f"corpus: {spec['corpus']!r} is not imported; run "
                f"`python manage.py import_corpus FILE --name {spec['corpus']}` first"
            ]
        )
    # Only the creator's own (or shared) studies: excluding another researcher's study
    # would let anyone test whether a platform id took part in it. The message is the same
    # for a study that exists elsewhere and one that does not.
    visible = studies_for_user(owner) if owner is not None else Study.objects.all()
    for slug in spec["exclude_judges_from"]:
        if not visible.filter(slug=slug).exists():
            raise SpecError([f"exclude_judges_from: you have no study called {slug!r}"])
    articles = articles_select(corpus=corpus, spec=spec)
    k = max((c["context_articles"] for c in spec["conditions"]), default=0)
    context = context_select(
        corpus=corpus, exclude={a.pk for a in articles}, k=k, seed=spec["seed"]
    )
    warnings += token_budget_warnings(spec)
    warnings += contamination_warnings(articles=articles, spec=spec, models=models)
    return spec, warnings, corpus, articles, context


def _populate(study: Study, spec: dict[str, Any], articles: list[Article]) -> None:
    for position, cond in enumerate(spec["conditions"]):
        Condition.objects.create(
            study=study,
            name=cond["name"],
            position=position,
            model=cond["model"],
            params=cond["params"],
            is_control=cond["control"],
            settings={
                k: v for k, v in cond.items() if k not in ("name", "model", "params", "control")
            },
        )
    StudyArticle.objects.bulk_create(
        StudyArticle(study=study, article=a, position=i) for i, a in enumerate(articles)
    )


@transaction.atomic
def study_create(
    *, spec_text: str, owner=None, models: Mapping[str, ModelInfo] | None = None
) -> tuple[Study, list[str]]:
    """Create a draft study from a spec file's text. Raises SpecError or StudyError."""
    if models is None:
        models = _models_or_none()
    slug = _slug_of(spec_text)
    spec, warnings, corpus, articles, context = _prepared(
        spec_text,
        models,
        slug_taken=bool(slug) and Study.objects.filter(slug=slug).exists(),
        owner=owner,
    )
    study = Study.objects.create(
        slug=spec["slug"],
        title=spec["title"],
        owner=owner,
        corpus=corpus,
        spec=spec,
        spec_source=spec_text,
        protocol=spec["protocol"],
        design=spec["design"],
        seed=spec["seed"],
        secret=new_secret(),
        context_keys=[a.key for a in context],
    )
    _populate(study, spec, articles)
    audit(study=study, action="create", actor=owner, warnings=warnings)
    return study, warnings


def _slug_of(spec_text: str) -> str:
    try:
        return str(tomllib.loads(spec_text).get("slug", ""))
    except tomllib.TOMLDecodeError:
        return ""  # parse_spec_text reports it


EDITABLE = (Study.Status.DRAFT, Study.Status.READY, Study.Status.ATTENTION)


@transaction.atomic
def study_edit(
    *, study: Study, spec_text: str, actor=None, models: Mapping[str, ModelInfo] | None = None
) -> tuple[Study, list[str]]:
    """Replace an unlaunched study's spec. Its texts go (they were made for the old spec)
    and it is a draft again, to be generated anew; the slug and the secret stay."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_frozen or study.status not in EDITABLE:
        raise StudyError(
            f"only a draft, ready or needs-attention study can be edited; {study.slug} is "
            f"{study.get_status_display()}"
            + ("; stop or let generation finish first" if study.status == "generating" else "")
        )
    if models is None:
        models = _models_or_none()
    slug = _slug_of(spec_text)
    if slug and slug != study.slug:
        raise SpecError(
            [f"slug: an edit keeps the slug {study.slug!r}; copy the study to rename it"]
        )
    spec, warnings, corpus, articles, context = _prepared(
        spec_text, models, slug_taken=False, owner=study.owner
    )
    study.generation_jobs.all().delete()  # candidates go with them
    study.texts.all().delete()
    study.conditions.all().delete()
    study.study_articles.all().delete()
    study.title = spec["title"]
    study.corpus = corpus
    study.spec = spec
    study.spec_source = spec_text
    study.protocol = spec["protocol"]
    study.design = spec["design"]
    study.seed = spec["seed"]
    study.context_keys = [a.key for a in context]
    study.status = Study.Status.DRAFT
    study.tell_audit = None
    study.save()
    _populate(study, spec, articles)
    audit(study=study, action="edit", actor=actor, warnings=warnings)
    return study, warnings


@transaction.atomic
def study_delete(*, study: Study, actor=None) -> str:
    """Delete a study that never launched (nothing of it was shown to anyone)."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_frozen or study.judges.exists():
        raise StudyError("a launched study cannot be deleted; it is part of the record")
    if study.status == Study.Status.GENERATING:
        raise StudyError("stop generation before deleting the study")
    slug = study.slug
    study.delete()
    return slug


def contamination_warnings(
    *, articles: list[Article], spec: dict[str, Any], models: Mapping[str, ModelInfo] | None
) -> list[str]:
    """Warn when an article predates a model's training cutoff; unknown dates are counted."""
    if not models:
        return []
    out = []
    for cond in spec["conditions"]:
        info = models.get(cond["model"])
        if info is None or info.training_cutoff is None:
            continue
        before = [a.key for a in articles if a.date is not None and a.date <= info.training_cutoff]
        unknown = [a.key for a in articles if a.date is None]
        if before:
            out.append(
                f"condition {cond['name']!r}: {len(before)} article(s) dated on or before "
                f"{cond['model']}'s training cutoff {info.training_cutoff}: may be in its "
                f"training data ({', '.join(before[:5])}{'...' if len(before) > 5 else ''})"
            )
        if unknown:
            out.append(
                f"condition {cond['name']!r}: {len(unknown)} article(s) have no date; "
                "contamination unknown"
            )
    return out


def study_copy(
    *, study: Study, new_slug: str = "", owner=None, spec_text: str = ""
) -> tuple[Study, list[str]]:
    """A frozen study cannot be edited, only copied: the copy is a new draft, with the same
    spec under ``new_slug`` or with the edited ``spec_text``."""
    if not spec_text:
        raw = tomllib.loads(study.spec_source or spec_to_toml(study.spec))
        raw["slug"] = new_slug
        spec_text = _to_toml(raw)
    copy, warnings = study_create(spec_text=spec_text, owner=owner or study.owner)
    copy.copied_from = study
    copy.save(update_fields=["copied_from"])
    return copy, warnings


def spec_text_copy(study: Study, new_slug: str) -> str:
    """The study's spec as a starting point for a copy called ``new_slug``."""
    raw = tomllib.loads(study.spec_source or spec_to_toml(study.spec))
    raw["slug"] = new_slug
    return _to_toml(raw)


def _to_toml(data: Mapping[str, Any]) -> str:
    """A small TOML writer for spec-shaped data (tables, arrays of tables, scalars)."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping]] = []
    arrays: list[tuple[str, list]] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines.append(f"\n[{key}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    for key, items in arrays:
        for item in items:
            lines.append(f"\n[[{key}]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in item.items() if v is not None]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def spec_to_toml(spec: Mapping[str, Any]) -> str:
    return _to_toml({k: v for k, v in spec.items() if v is not None})


# --- launch -------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_hash(record: Mapping[str, Any]) -> str:
    return _sha(json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def included_articles(study: Study) -> list[StudyArticle]:
    return list(study.study_articles.filter(dropped=False).select_related("article"))


def study_launch(*, study: Study, actor=None, acknowledge_tells: bool = False) -> Study:
    """Freeze the design: build the lists, hash everything shown, and go live.

    The tell audit of the texts as shown is part of the frozen record. When its form
    features tell human from machine texts in some condition, launch goes ahead only with
    ``acknowledge_tells``, and the acknowledgement is recorded in the audit log.
    """
    from studies.services.tell_audit import tell_audit_current

    if study.status == Study.Status.READY:
        # Audited (and stored) outside the launch transaction, so a refused launch keeps it.
        tell_audit_current(study=study)
    return _study_launch(study=study, actor=actor, acknowledge_tells=acknowledge_tells)


@dataclass(frozen=True)
class _ListSource:
    """What a study's lists are drawn from: its texts and the articles that have them."""

    conditions: list[Condition]
    texts: dict[tuple[int, int, bool], Text]  # by (condition, article, is_machine)
    kept: list[StudyArticle]  # not dropped
    usable: list[StudyArticle]  # kept, with a human and a machine text in every condition
    by_key: dict[str, Article]  # the usable articles
    by_name: dict[str, Condition]

    def groups(self, design: str) -> int:
        """The fewest items per judge the design needs (human and machine per condition)."""
        return 2 * (len(self.conditions) if design == Design.WITHIN else 1)

    def per_judge(self, spec: Mapping[str, Any]) -> int:
        return min(spec["items_per_judge"] or len(self.usable), len(self.usable))

    def plans(self, study: Study, *, per_judge: int, seed) -> list:
        return design_lib.build_lists(
            articles=sorted(self.by_key),
            conditions=[c.name for c in self.conditions],
            protocol=study.protocol,
            design=study.design,
            items_per_judge=per_judge,
            seed=seed,
        )


def _list_source(study: Study) -> _ListSource:
    conditions = list(study.conditions.all())
    kept = included_articles(study)
    texts = {
        (t.condition_id, t.article_id, t.is_machine): t for t in Text.objects.filter(study=study)
    }
    usable = [
        sa
        for sa in kept
        if all((c.pk, sa.article_id, m) in texts for c in conditions for m in (False, True))
    ]
    return _ListSource(
        conditions=conditions,
        texts=texts,
        kept=kept,
        usable=usable,
        by_key={sa.article.key: sa.article for sa in usable},
        by_name={c.name: c for c in conditions},
    )


def _study_attention_checks(study: Study) -> list[dict[str, Any]]:
    """The attention checks every list ends with, in the study's language."""
    attention = attention_checks(study.protocol, study.spec.get("language", "en"))
    return [attention[i % len(attention)] for i in range(study.spec["attention_checks"]["count"])]


def _plan_entries(*, study: Study, slist: StudyList, plan, source: _ListSource):
    """The unsaved entries of one planned list, and what the launch record says of them."""
    entries = []
    record_entries = []
    for pos, e in enumerate(plan.entries):
        cond = source.by_name[e.condition]
        article = source.by_key[e.article]
        placed = {"study_list": slist, "position": pos, "article": article, "condition": cond}
        if study.protocol == Protocol.SINGLE:
            text = source.texts[(cond.pk, article.pk, bool(e.is_machine))]
            entries.append(ListEntry(**placed, text=text))
            record_entries.append(
                {
                    "article": article.key,
                    "condition": cond.name,
                    "is_machine": e.is_machine,
                    "text_sha256": text.sha256,
                }
            )
        else:
            human = source.texts[(cond.pk, article.pk, False)]
            machine = source.texts[(cond.pk, article.pk, True)]
            entries.append(
                ListEntry(**placed, text=human, machine_text=machine, human_side=e.human_side or "")
            )
            record_entries.append(
                {
                    "article": article.key,
                    "condition": cond.name,
                    "human_side": e.human_side,
                    "human_sha256": human.sha256,
                    "machine_sha256": machine.sha256,
                }
            )
    return entries, record_entries


def _list_create(
    *,
    study: Study,
    source: _ListSource,
    plan,
    checks: list[dict[str, Any]],
    name: str,
    index: int,
    quota: int,
) -> tuple[StudyList, list[dict[str, Any]]]:
    """Store one planned list, its entries and its attention checks after them; returns
    the list and what the launch record says of its entries."""
    slist = StudyList.objects.create(
        study=study,
        condition=source.by_name[plan.condition] if plan.condition else None,
        name=name,
        index=index,
        block=plan.block,
        quota=quota,
    )
    entries, record_entries = _plan_entries(study=study, slist=slist, plan=plan, source=source)
    entries += [
        ListEntry(
            study_list=slist,
            position=len(plan.entries) + i,
            is_attention=True,
            attention=check,
        )
        for i, check in enumerate(checks)
    ]
    ListEntry.objects.bulk_create(entries)
    return slist, record_entries


def _tells_gate(*, study: Study, actor, acknowledge_tells: bool) -> dict[str, Any] | None:
    """The tell audit for the launch record; refuses a gated one unless acknowledged (and
    then audits the acknowledgement)."""
    from studies.services.tell_audit import tell_audit_current

    tells = tell_audit_current(study=study)
    if tells and tells["gated"]:
        if not acknowledge_tells:
            raise StudyError(
                " ".join(tells["findings"])
                + " Fix the texts (paragraphs, length, typography) or acknowledge the tell "
                "to launch anyway."
            )
        audit(
            study=study,
            action="acknowledge_tells",
            actor=actor,
            findings=tells["findings"],
            texts_sha256=tells["texts_sha256"],
        )
    return tells


def _launch_source(study: Study) -> tuple[_ListSource, int]:
    """The list source and the items per judge, or StudyError when the texts cannot make
    the design (an article without every text, too few articles, detectors not done)."""
    source = _list_source(study)
    if len(source.usable) != len(source.kept):
        missing = sorted(sa.article.key for sa in source.kept if sa not in source.usable)
        raise StudyError(f"articles without texts for every condition: {', '.join(missing)}")
    groups = source.groups(study.design)
    per_judge = source.per_judge(study.spec)
    if per_judge < groups:
        raise StudyError(
            f"only {len(source.usable)} articles are left after exclusions; "
            f"the design needs {groups}"
        )
    if study.spec.get("detection", {}).get("detectors"):
        from studies.services.detection import detection_complete

        complete, why = detection_complete(study)
        if not complete:
            raise StudyError(f"machine detectors must score the texts before launch: {why}")
    return source, per_judge


@transaction.atomic
def _study_launch(*, study: Study, actor, acknowledge_tells: bool) -> Study:
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status != Study.Status.READY:
        raise StudyError(f"only a ready study can be launched; {study.slug} is {study.status}")
    tells = _tells_gate(study=study, actor=actor, acknowledge_tells=acknowledge_tells)
    # Test runs before launch used throwaway lists; they go, and the real lists are built.
    Judge.objects.filter(study=study, test=True).delete()
    StudyList.objects.filter(study=study).delete()
    source, per_judge = _launch_source(study)
    plans = source.plans(study, per_judge=per_judge, seed=derived_key(study.secret, "design"))
    checks = _study_attention_checks(study)
    record_lists = []
    for index, plan in enumerate(plans):
        _, record_entries = _list_create(
            study=study,
            source=source,
            plan=plan,
            checks=checks,
            name=plan.name,
            index=index,
            quota=study.spec["judges_per_list"],
        )
        record_lists.append(
            {
                "name": plan.name,
                "condition": plan.condition,
                "block": plan.block,
                "entries": record_entries,
            }
        )
    record = _launch_record(
        study, tells=tells, lists=record_lists, checks=checks, per_judge=per_judge, source=source
    )
    study.frozen = record
    study.practice = record["practice"]
    study.design_hash = canonical_hash(record)
    study.status = Study.Status.LIVE
    study.launched_at = timezone.now()
    study.save(update_fields=["frozen", "practice", "design_hash", "status", "launched_at"])
    audit(study=study, action="launch", actor=actor, design_hash=study.design_hash)
    return study


def _launch_record(
    study: Study,
    *,
    tells: dict[str, Any] | None,
    lists: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    per_judge: int,
    source: _ListSource,
) -> dict[str, Any]:
    """The frozen design record: everything a judge is shown, hashed at launch."""
    spec = study.spec
    positions = spec["attention_checks"]["positions"] or design_lib.default_attention_positions(
        per_judge, len(checks)
    )
    record = {
        "spec": spec,
        "secret_sha256": secret_digest(study.secret),
        "context_articles": study.context_keys,
        "practice": practice_build(study=study),
        "lists": lists,
        "attention_checks": [{**check, "sha256": canonical_hash(check)} for check in checks],
        "attention_positions": positions,
        "texts": _text_records(study, set(source.by_key)),
        "tell_audit": tells,
        "dropped": [
            {"article": sa.article.key, "kind": sa.drop_kind, "reason": sa.drop_reason}
            for sa in study.study_articles.filter(dropped=True).select_related("article")
        ],
        # What judges read, in their language: the scale's exact wording.
        "wording": scale_wording(spec.get("language", "en")),
    }
    if spec.get("detection", {}).get("detectors"):
        from studies.services.detection import detection_record

        record["detection"] = detection_record(study)
    return record


def throwaway_list_create(*, study: Study) -> StudyList:
    """A throwaway list for the owner's test run before launch: one list of a design drawn
    with fresh randomness (not the study's secret, so it tells nothing of the real lists),
    deleted at launch."""
    source = _list_source(study)
    groups = source.groups(study.design)
    per_judge = source.per_judge(study.spec)
    if per_judge < groups:
        raise StudyError(
            f"only {len(source.usable)} articles have texts; the design needs {groups}"
        )
    plans = source.plans(study, per_judge=per_judge, seed=secrets.randbits(62))
    plan = plans[secrets.randbelow(len(plans))]
    slist, _ = _list_create(
        study=study,
        source=source,
        plan=plan,
        checks=_study_attention_checks(study),
        name=f"test-run-{secrets.token_hex(6)}",
        index=10_000 + StudyList.objects.filter(study=study).count(),
        quota=0,
    )
    return slist


WITHHELD = (
    "While the study runs, the lists, which text is machine-made, the text hashes, the "
    "machine detectors' scores and the secret are withheld: with them a judge could work out "
    "their own queue. The full record, whose SHA-256 is design_hash, and the secret, whose "
    "SHA-256 is secret_sha256, are published here once the study is closed."
)


def design_record(*, study: Study) -> dict[str, Any]:
    """The design record a researcher may publish now.

    Before closing: the commitments (design hash, secret hash) and what a judge may know
    anyway (spec, context, list sizes). After closing: the full frozen record and the secret,
    from which every list, queue and side can be recomputed and the hashes checked.
    """
    if not study.is_frozen:
        raise StudyError("the design is frozen at launch")
    record = study.frozen
    out: dict[str, Any] = {
        "study": study.slug,
        "design_hash": study.design_hash,
        "hash_of": "canonical JSON (sorted keys, UTF-8, no spaces) of 'design'",
        "secret_sha256": record.get("secret_sha256", ""),
    }
    if study.status == Study.Status.CLOSED:
        return {**out, "design": record, "secret": study.secret}
    return {
        **out,
        "withheld": WITHHELD,
        "public": {
            "spec": record["spec"],
            "context_articles": record["context_articles"],
            "attention_positions": record["attention_positions"],
            "lists": [
                {
                    "name": lst["name"],
                    "condition": lst["condition"],
                    "block": lst["block"],
                    "items": len(lst["entries"]),
                }
                for lst in record["lists"]
            ],
            "dropped": record["dropped"],
            "wording": record.get("wording"),
        },
    }


def _text_records(study: Study, keys: set[str]) -> list[dict[str, Any]]:
    rows = Text.objects.filter(study=study).select_related("condition", "article")
    return sorted(
        (
            {
                "condition": t.condition.name,
                "article": t.article.key,
                "is_machine": t.is_machine,
                "sha256": t.sha256,
            }
            for t in rows
            if t.article.key in keys
        ),
        key=lambda r: (r["condition"], r["article"], r["is_machine"]),
    )


_TRANSITIONS = {
    "pause": ({Study.Status.LIVE}, Study.Status.PAUSED),
    "resume": ({Study.Status.PAUSED}, Study.Status.LIVE),
    "close": ({Study.Status.LIVE, Study.Status.PAUSED}, Study.Status.CLOSED),
}


@transaction.atomic
def study_transition(*, study: Study, action: str, actor=None) -> Study:
    if action not in _TRANSITIONS:
        raise StudyError(f"unknown action {action!r}")
    allowed, target = _TRANSITIONS[action]
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status not in allowed:
        raise StudyError(f"cannot {action} a study that is {study.status}")
    study.status = target
    if target == Study.Status.CLOSED:
        study.closed_at = timezone.now()
    study.save(update_fields=["status", "closed_at"])
    audit(study=study, action=action, actor=actor)
    return study
