"""Sites, memberships and role requests belong to one study.

On a database that held one study, every existing site, membership and request belongs to it:
the study of the active protocol (or the only study). A database with sites but no protocol
cannot say which study they belong to and is refused with the command that fixes it.
"""

import django.db.models.deletion
from django.db import migrations, models


def the_one_study(apps):
    Study = apps.get_model("studies", "Study")
    ProtocolVersion = apps.get_model("studies", "ProtocolVersion")
    active = ProtocolVersion.objects.filter(active=True).order_by("-loaded_at").first()
    if active is not None:
        return active.study_id
    codes = list(Study.objects.values_list("code", flat=True))
    return codes[0] if len(codes) == 1 else None


def assign(apps, schema_editor):
    Site = apps.get_model("accounts", "Site")
    Membership = apps.get_model("accounts", "Membership")
    RoleRequest = apps.get_model("accounts", "RoleRequest")
    if not (Site.objects.exists() or Membership.objects.exists() or RoleRequest.objects.exists()):
        return
    code = the_one_study(apps)
    if code is None:
        raise RuntimeError(
            "sites or roles exist but no protocol says which study they belong to: load the "
            "study's protocol with the previous release (`trialdesk load-protocol FILE`), then "
            "migrate again"
        )
    Site.objects.update(study_id=code)
    Membership.objects.update(study_id=code)
    RoleRequest.objects.update(study_id=code)


def fk(null):
    return models.ForeignKey(
        null=null, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="studies.study"
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_role_request"), ("studies", "0002_study")]

    operations = [
        migrations.AddField(
            model_name="site",
            name="study",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sites",
                to="studies.study",
            ),
        ),
        migrations.AddField(model_name="membership", name="study", field=fk(True)),
        migrations.AddField(model_name="rolerequest", name="study", field=fk(True)),
        migrations.RunPython(assign, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="site",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sites",
                to="studies.study",
            ),
        ),
        migrations.AlterField(model_name="membership", name="study", field=fk(False)),
        migrations.AlterField(model_name="rolerequest", name="study", field=fk(False)),
        migrations.AlterField(model_name="site", name="code", field=models.CharField(max_length=8)),
        migrations.AlterModelOptions(name="site", options={"ordering": ["study_id", "code"]}),
        migrations.AddConstraint(
            model_name="site",
            constraint=models.UniqueConstraint(
                fields=("study", "code"), name="uniq_site_code_per_study"
            ),
        ),
        migrations.RemoveConstraint(model_name="membership", name="uniq_membership"),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(
                fields=("user", "study", "role", "site"), name="uniq_membership"
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(
                condition=models.Q(("site", None)),
                fields=("user", "study", "role"),
                name="uniq_studywide_membership",
            ),
        ),
    ]
