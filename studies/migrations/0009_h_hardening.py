import secrets

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q


def give_every_judge_a_session_key(apps, schema_editor):
    # Browsers held judge tokens until now; those sessions do not carry over, and a
    # returning judge from before this change is resumed only through a new key.
    Judge = apps.get_model("studies", "Judge")
    for judge in Judge.objects.filter(session_key__isnull=True).only("pk"):
        judge.session_key = secrets.token_urlsafe(24)
        judge.save(update_fields=["session_key"])


def give_corpora_owners(apps, schema_editor):
    """A corpus used by one researcher's studies becomes theirs; one used by several goes to
    the earliest study's owner and is shared with the others (so none of their studies or
    copies lose it); one used by no owned study stays the operator's (no owner)."""
    Corpus = apps.get_model("studies", "Corpus")
    Study = apps.get_model("studies", "Study")
    for corpus in Corpus.objects.all():
        owners = []
        for owner_id in (
            Study.objects.filter(corpus=corpus, owner__isnull=False)
            .order_by("created_at", "pk")
            .values_list("owner_id", flat=True)
        ):
            if owner_id not in owners:
                owners.append(owner_id)
        if not owners:
            continue
        corpus.owner_id = owners[0]
        corpus.save(update_fields=["owner"])
        corpus.shared_with.add(*owners[1:])


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0008_h_judgeux"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="judge",
            name="session_key",
            field=models.CharField(editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(give_every_judge_a_session_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="corpus", name="name", field=models.CharField(max_length=100)
        ),
        migrations.AddField(
            model_name="corpus",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owned_corpora",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="corpus",
            name="shared_with",
            field=models.ManyToManyField(
                blank=True, related_name="shared_corpora", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddConstraint(
            model_name="corpus",
            constraint=models.UniqueConstraint(
                fields=("owner", "name"), name="corpus_name_unique_per_owner"
            ),
        ),
        migrations.AddConstraint(
            model_name="corpus",
            constraint=models.UniqueConstraint(
                condition=Q(owner__isnull=True), fields=("name",), name="site_corpus_name_unique"
            ),
        ),
        # Data last: PostgreSQL refuses to alter a table with pending trigger events.
        migrations.RunPython(give_corpora_owners, migrations.RunPython.noop),
    ]
