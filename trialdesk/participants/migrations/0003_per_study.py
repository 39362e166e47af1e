"""Participants belong to their site's study; the Study ID (01-007) is unique within it.

The label column is renamed ``subject_id`` (``study_id`` is now the study's foreign key).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def assign(apps, schema_editor):
    Participant = apps.get_model("participants", "Participant")
    Site = apps.get_model("accounts", "Site")
    Participant.objects.update(
        study_id=Subquery(Site.objects.filter(pk=OuterRef("site_id")).values("study_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("participants", "0002_identity"), ("accounts", "0003_per_study")]

    operations = [
        # Not unique across the deployment any more: dropped under the old name first, so that
        # PostgreSQL's pattern index of the old column (named after "study_id") goes with it
        # and does not collide with the new foreign key's index of the same name.
        migrations.AlterField(
            model_name="participant", name="study_id", field=models.CharField(max_length=32)
        ),
        migrations.RenameField(
            model_name="participant", old_name="study_id", new_name="subject_id"
        ),
        migrations.AddField(
            model_name="participant",
            name="study",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="studies.study",
            ),
        ),
        migrations.RunPython(assign, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="participant",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="studies.study"
            ),
        ),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.UniqueConstraint(
                fields=("study", "subject_id"), name="uniq_subject_per_study"
            ),
        ),
    ]
