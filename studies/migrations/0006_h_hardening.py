import secrets

from django.db import migrations, models


def give_every_judge_a_session_key(apps, schema_editor):
    # Browsers held judge tokens until now; those sessions do not carry over, and a
    # returning judge from before this change is resumed only through a new key.
    Judge = apps.get_model("studies", "Judge")
    for judge in Judge.objects.filter(session_key__isnull=True).only("pk"):
        judge.session_key = secrets.token_urlsafe(24)
        judge.save(update_fields=["session_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0005_blinding_secret_practice"),
    ]

    operations = [
        migrations.AddField(
            model_name="judge",
            name="session_key",
            field=models.CharField(editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(give_every_judge_a_session_key, migrations.RunPython.noop),
    ]
