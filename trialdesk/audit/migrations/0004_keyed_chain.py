"""The chain becomes HMAC-SHA256 keyed outside the database.

Events already written keep their plain SHA-256 links: the head remembers up to which event
(``legacy_until_seq``), and the first keyed event's MAC covers the last legacy hash, so the
legacy part cannot be rewritten without breaking the keyed part.
"""

import hmac

from django.conf import settings
from django.db import migrations, models


def mark_legacy(apps, schema_editor):
    """The boundary is MACed with the key (as chain.legacy_mac), so it cannot be moved later."""
    Head = apps.get_model("audit", "AuditChainHead")
    head = Head.objects.filter(id=1, last_seq__gt=0).first()
    if head is None:
        return
    key = settings.AUDIT_KEY.encode() if isinstance(settings.AUDIT_KEY, str) else settings.AUDIT_KEY
    label = f"trialdesk audit legacy until {head.last_seq}".encode()
    Head.objects.filter(id=1).update(
        legacy_until_seq=head.last_seq,
        legacy_mac=hmac.new(key, label, "sha256").hexdigest(),
        scheme="hmac-sha256",
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_audit_view_action")]
    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="scheme",
            field=models.CharField(default="hmac-sha256", max_length=32),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="key_fingerprint",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="legacy_until_seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="legacy_mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(mark_legacy, migrations.RunPython.noop),
    ]
