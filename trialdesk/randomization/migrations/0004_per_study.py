"""Randomization lists belong to one study (one active list per study); randomization numbers
and kit codes are unique within their list (so within their study), no longer deployment-wide."""

import django.db.models.deletion
from django.db import migrations, models


def assign(apps, schema_editor):
    RandomizationList = apps.get_model("randomization", "RandomizationList")
    if not RandomizationList.objects.exists():
        return
    ProtocolVersion = apps.get_model("studies", "ProtocolVersion")
    active = ProtocolVersion.objects.filter(active=True).order_by("-loaded_at").first()
    if active is None:
        raise RuntimeError("randomization lists exist but no protocol names their study")
    RandomizationList.objects.update(study_id=active.study_id)


class Migration(migrations.Migration):
    dependencies = [
        ("randomization", "0003_list_source_test_seed"),
        ("studies", "0002_study"),
        ("participants", "0003_per_study"),
    ]

    operations = [
        migrations.AddField(
            model_name="randomizationlist",
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
            model_name="randomizationlist",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="studies.study"
            ),
        ),
        migrations.RemoveConstraint(model_name="randomizationlist", name="one_active_list"),
        migrations.AddConstraint(
            model_name="randomizationlist",
            constraint=models.UniqueConstraint(
                condition=models.Q(("active", True)), fields=("study",), name="one_active_list"
            ),
        ),
        migrations.AlterField(
            model_name="allocation",
            name="randomization_number",
            field=models.CharField(db_index=True, max_length=16),
        ),
        migrations.AlterField(
            model_name="allocation",
            name="kit_code",
            field=models.CharField(db_index=True, max_length=16),
        ),
    ]
