from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("studies", "0005_blinding_secret_practice")]

    operations = [
        migrations.AddField(
            model_name="judge",
            name="test",
            field=models.BooleanField(default=False),
        ),
    ]
