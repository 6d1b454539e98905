from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("studies", "0007_h_analysis")]

    operations = [
        migrations.AddField(
            model_name="judge",
            name="test",
            field=models.BooleanField(default=False),
        ),
    ]
