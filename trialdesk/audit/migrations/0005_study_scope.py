"""Audit events name their study; events written while the deployment held one study belong to
it, recorded once on the chain head (MACed, so the boundary cannot be moved)."""

import hmac

from django.conf import settings
from django.db import migrations, models


def mark_single_study(apps, schema_editor):
    Head = apps.get_model("audit", "AuditChainHead")
    ProtocolVersion = apps.get_model("studies", "ProtocolVersion")
    head = Head.objects.filter(id=1, last_seq__gt=0).first()
    if head is None:
        return
    active = ProtocolVersion.objects.filter(active=True).order_by("-loaded_at").first()
    if active is None:
        return
    key = settings.AUDIT_KEY.encode() if isinstance(settings.AUDIT_KEY, str) else settings.AUDIT_KEY
    label = f"trialdesk audit single study {active.study_id} until {head.last_seq}".encode()
    Head.objects.filter(id=1).update(
        single_study=active.study_id,
        single_study_until_seq=head.last_seq,
        single_study_mac=hmac.new(key, label, "sha256").hexdigest(),
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_keyed_chain"), ("studies", "0002_study")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="study_code",
            field=models.CharField(blank=True, db_index=True, max_length=32),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="single_study",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="single_study_until_seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="single_study_mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(mark_single_study, migrations.RunPython.noop),
    ]
