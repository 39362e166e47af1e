"""Several studies per deployment: a Study row per loaded protocol.

Existing protocol rows name their study by a text column; each distinct value becomes a Study
(titled from its stored YAML) and the column becomes a foreign key to it, keeping its name
``study_id`` and its values (a Study's primary key is its code).
"""

import django.db.models.deletion
import yaml
from django.db import migrations, models


def create_studies(apps, schema_editor):
    Study = apps.get_model("studies", "Study")
    ProtocolVersion = apps.get_model("studies", "ProtocolVersion")
    for row in ProtocolVersion.objects.order_by("loaded_at"):
        title = ""
        try:
            title = str((yaml.safe_load(row.yaml_text) or {}).get("study", {}).get("title", ""))
        except (yaml.YAMLError, AttributeError):
            pass
        Study.objects.get_or_create(code=row.study_code, defaults={"title": title[:500]})
        ProtocolVersion.objects.filter(pk=row.pk).update(study_id=row.study_code)


class Migration(migrations.Migration):
    dependencies = [("studies", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Study",
            fields=[
                ("code", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("title", models.CharField(blank=True, max_length=500)),
                (
                    "active",
                    models.BooleanField(
                        default=True, help_text="listed to its staff; data stay either way"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["code"], "verbose_name_plural": "studies"},
        ),
        migrations.RemoveConstraint(model_name="protocolversion", name="uniq_protocol_text"),
        migrations.RemoveConstraint(model_name="protocolversion", name="one_active_protocol"),
        migrations.RenameField(
            model_name="protocolversion", old_name="study_id", new_name="study_code"
        ),
        migrations.AddField(
            model_name="protocolversion",
            name="study",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="protocol_versions",
                to="studies.study",
            ),
        ),
        migrations.RunPython(create_studies, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="protocolversion",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="protocol_versions",
                to="studies.study",
            ),
        ),
        migrations.RemoveField(model_name="protocolversion", name="study_code"),
        migrations.AddConstraint(
            model_name="protocolversion",
            constraint=models.UniqueConstraint(
                fields=("study", "sha256"), name="uniq_protocol_text"
            ),
        ),
        migrations.AddConstraint(
            model_name="protocolversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("active", True)),
                fields=("study",),
                name="one_active_protocol",
            ),
        ),
    ]
