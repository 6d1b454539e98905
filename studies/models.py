"""The study domain: corpora, studies, conditions, texts, lists, judges and their answers.

Vocabulary (after Turkle): a Study has Conditions; generation fills Texts; the frozen
design is a set of StudyLists (the cells judges are balanced over) whose ListEntries
are the items; a Judge is assigned one list and gets a queue of JudgeItems, each of
which holds at most one answer.
"""

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import Q

from studies.protocol import Design, Platform, Protocol, Side, Stage


def choices(values: type[StrEnum]) -> list[tuple[str, str]]:
    """A field's choices from one of ``studies.protocol``'s enumerations."""
    return [(member.value, member.value) for member in values]


class Corpus(models.Model):
    """Articles under a name. A corpus belongs to the researcher who imported it and the
    researchers it is shared with (sharing a study shares its corpus); one without an owner
    was imported by the operator (``import_corpus``) for everyone to use, and only the
    operator changes it."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_corpora",
    )
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_corpora"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "corpora"
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="corpus_name_unique_per_owner"),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(owner__isnull=True),
                name="site_corpus_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="articles")
    key = models.CharField(max_length=200, help_text="The source's id, unique in its corpus.")
    title = models.TextField()
    subtitle = models.TextField()
    subtitle_type = models.CharField(max_length=50, blank=True)
    body = models.TextField(help_text="The body as imported.")
    shown_body = models.TextField(help_text="The body judges see: the subtitle is not repeated.")
    source = models.TextField(blank=True)
    url = models.TextField(blank=True)
    date = models.DateField(null=True, blank=True, help_text="Null means unknown.")
    author = models.TextField(blank=True)
    license = models.TextField(blank=True)
    license_url = models.TextField(blank=True)
    attribution = models.TextField(blank=True)
    word_count = models.PositiveIntegerField()
    source_file = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["corpus", "key"], name="article_key_unique_in_corpus")
        ]
        ordering = ["corpus_id", "key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.title[:60]}"


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        GENERATING = "generating", "generating"
        READY = "ready", "ready"
        # Generated, but the design cannot launch (say every article was dropped): the
        # overview says why and what to change.
        ATTENTION = "attention", "needs attention"
        LIVE = "live", "live"
        PAUSED = "paused", "paused"
        CLOSED = "closed", "closed"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_studies",
    )
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_studies"
    )
    corpus = models.ForeignKey(Corpus, on_delete=models.PROTECT, related_name="studies")
    spec = models.JSONField(help_text="The validated spec with every default filled in.")
    spec_source = models.TextField(blank=True, help_text="The spec file as written.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    protocol = models.CharField(max_length=10, choices=choices(Protocol))
    design = models.CharField(max_length=10, choices=choices(Design))
    seed = models.BigIntegerField()
    secret = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Server-side randomness for everything a judge sees (lists, queues, sides, "
        "practice); committed by its SHA-256 at launch and revealed in the record after closing.",
    )
    context_keys = models.JSONField(default=list, blank=True)
    design_hash = models.CharField(max_length=64, blank=True)
    frozen = models.JSONField(
        null=True, blank=True, help_text="The design record frozen at launch."
    )
    practice = models.JSONField(
        default=list, blank=True, help_text="Practice items, chosen and frozen at launch."
    )
    tell_audit = models.JSONField(
        null=True, blank=True, help_text="The latest tell audit of the texts as shown."
    )
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    peek_allowed = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_frozen(self) -> bool:
        return bool(self.design_hash)


class Condition(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conditions")
    name = models.CharField(max_length=80)
    position = models.PositiveIntegerField()
    model = models.CharField(max_length=120)
    params = models.BigIntegerField(null=True, blank=True)
    is_control = models.BooleanField(default=False)
    settings = models.JSONField(help_text="Prompt format, context size, decoding and selection.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="condition_name_unique")
        ]
        ordering = ["study_id", "position"]

    def __str__(self) -> str:
        return f"{self.study.slug}/{self.name}"


class StudyArticle(models.Model):
    """An article of the study. A dropped article is left out of every condition."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="study_articles")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    dropped = models.BooleanField(default=False)
    drop_kind = models.CharField(max_length=20, blank=True)  # "failed" or "excluded"
    drop_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "article"], name="study_article_unique")
        ]
        ordering = ["study_id", "position"]


class GenerationJob(models.Model):
    """One condition's generation. Its row is the truth; the queue only carries its id."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"  # stopped by the researcher; stored batches are kept

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="generation_jobs")
    condition = models.OneToOneField(
        Condition, on_delete=models.CASCADE, related_name="generation_job"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    plan = models.JSONField(default=list, blank=True)
    total_batches = models.PositiveIntegerField(default=0)
    done_batches = models.PositiveIntegerField(default=0)
    total_units = models.PositiveIntegerField(default=0)
    done_units = models.PositiveIntegerField(default=0)
    new_tokens = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    # The batch being decoded now, written by the worker every few steps: texts finished,
    # tokens drawn and when it began, so progress moves text by text inside a long batch.
    batch_texts_done = models.PositiveIntegerField(default=0)
    batch_tokens = models.BigIntegerField(default=0)
    batch_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class Candidate(models.Model):
    """Every generated candidate, chosen or not, with how it was made."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="candidates")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    candidate_index = models.PositiveIntegerField()
    batch_index = models.PositiveIntegerField()
    text = models.TextField()
    provenance = models.JSONField()
    rejection_reason = models.TextField(blank=True)
    chosen = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "article", "candidate_index"], name="candidate_unique"
            )
        ]


class Text(models.Model):
    """A text as judges see it: the human body or the chosen generated one, cut alike."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="texts")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="texts")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    is_machine = models.BooleanField()
    body = models.TextField()
    word_count = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["condition", "article", "is_machine"], name="text_unique"
            )
        ]


class StudyList(models.Model):
    """A counterbalanced list: the cell judges are balanced over."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="lists")
    condition = models.ForeignKey(
        Condition,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="lists",
        help_text="The condition in a between design; empty in a within design.",
    )
    name = models.CharField(max_length=120)
    index = models.PositiveIntegerField()
    block = models.PositiveIntegerField(default=0)
    quota = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="list_name_unique")]
        ordering = ["study_id", "index"]

    def __str__(self) -> str:
        return self.name


class ListEntry(models.Model):
    """One item of a list: a text (single), a pair (paired) or an attention check."""

    study_list = models.ForeignKey(StudyList, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    article = models.ForeignKey(Article, null=True, on_delete=models.PROTECT, related_name="+")
    condition = models.ForeignKey(Condition, null=True, on_delete=models.CASCADE, related_name="+")
    text = models.ForeignKey(Text, null=True, on_delete=models.PROTECT, related_name="+")
    machine_text = models.ForeignKey(Text, null=True, on_delete=models.PROTECT, related_name="+")
    human_side = models.CharField(max_length=5, blank=True, choices=choices(Side))  # paired
    is_attention = models.BooleanField(default=False)
    attention = models.JSONField(null=True, blank=True)  # title, body(s), expected answer

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study_list", "position"], name="entry_position_unique")
        ]
        ordering = ["study_list_id", "position"]


class Judge(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed"
        EXPIRED = "expired"
        FULL = "full"
        WITHDRAWN = "withdrawn"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="judges")
    study_list = models.ForeignKey(
        StudyList, null=True, blank=True, on_delete=models.PROTECT, related_name="judges"
    )
    token = models.CharField(max_length=64, unique=True)
    # What the judge's browser holds (in a signed cookie): an opaque key that only lets
    # that browser go on, never the token, which seeds nothing the browser may learn.
    session_key = models.CharField(max_length=64, unique=True, null=True, editable=False)
    pseudonym = models.CharField(max_length=64, db_index=True)
    platform = models.CharField(max_length=10, choices=choices(Platform))
    # Restricted: platform ids are exported only to the payments file.
    external_id = models.CharField(max_length=200, null=True, blank=True)
    platform_meta = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    simulated = models.BooleanField(default=False)
    # The owner trying the study: never analysed, exported or counted toward quotas.
    test = models.BooleanField(default=False)
    consent_version = models.CharField(max_length=40, blank=True)
    stage = models.CharField(max_length=20, choices=choices(Stage), default=Stage.CONSENT.value)
    item_count = models.PositiveIntegerField(default=0, help_text="Length of the queue.")
    closing = models.JSONField(default=dict, blank=True)
    flags = models.JSONField(default=list, blank=True)
    completion_code = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "platform", "external_id"],
                condition=Q(external_id__isnull=False),
                name="one_participation_per_external_id",
            )
        ]
        indexes = [models.Index(fields=["study", "status"])]


class JudgeItem(models.Model):
    """One item of a judge's queue, and the judge's one answer to it."""

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    entry = models.ForeignKey(ListEntry, on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=40, unique=True, help_text="Opaque judge-facing id.")
    served_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=5, blank=True, choices=choices(Side))
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    server_ms = models.PositiveIntegerField(null=True, blank=True)
    visible_ms = models.PositiveIntegerField(default=0)
    paste_count = models.PositiveIntegerField(default=0)
    copy_count = models.PositiveIntegerField(default=0)
    tabaway_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["judge", "position"], name="judge_item_position_unique")
        ]
        ordering = ["judge_id", "position"]


class AuditEvent(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class EntryAttempt(models.Model):
    """Entry-link hits, for rate limits that hold across web processes."""

    key = models.CharField(max_length=128, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class PracticeAnswer(models.Model):
    """A judge's answer in the practice round: kept apart from the study's answers.

    Practice texts come from articles outside the study, so these rows never enter the
    analysis; they record what the judge was shown (for the feedback) and answered.
    """

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="practice_answers")
    position = models.PositiveIntegerField()
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    is_machine = models.BooleanField(null=True, blank=True)  # single protocol
    human_side = models.CharField(max_length=5, blank=True, choices=choices(Side))  # paired
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=5, blank=True, choices=choices(Side))
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["judge", "position"], name="practice_answer_position_unique"
            )
        ]
        ordering = ["judge_id", "position"]


class ApiToken(models.Model):
    """A researcher's token for scripts (simulated judges, exports). Only its hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)


class PowerPlanRun(models.Model):
    """One power-planner simulation, run by a worker (issue 15). Its row is the truth."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="power_runs"
    )
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pilot = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField(default=dict, help_text="The planner form's values.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class DetectionJob(models.Model):
    """Scoring a study's shown texts with machine detectors; resumable, like generation.

    Scores are for researchers only: no judge-facing page or API reads them, and while the
    study runs the public design record withholds them.
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="detection_job")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    detectors = models.JSONField(default=list, blank=True)
    total_units = models.PositiveIntegerField(default=0)
    done_units = models.PositiveIntegerField(default=0)
    training = models.JSONField(
        default=dict, blank=True, help_text="Per condition: labelled texts outside the study."
    )
    skipped = models.JSONField(default=dict, blank=True, help_text="Detector: why it was skipped.")
    seconds = models.FloatField(default=0.0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class DetectorScore(models.Model):
    """One detector's score of one shown text (higher = more machine-like)."""

    job = models.ForeignKey(DetectionJob, on_delete=models.CASCADE, related_name="scores")
    text = models.ForeignKey(Text, on_delete=models.CASCADE, related_name="detector_scores")
    detector = models.CharField(max_length=40)
    score = models.FloatField(null=True, blank=True)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["text", "detector"], name="detector_score_unique")
        ]
