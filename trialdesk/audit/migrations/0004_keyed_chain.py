"""The chain becomes HMAC-SHA256 keyed outside the database.

Events already written keep their plain SHA-256 links: the head remembers up to which event
(``legacy_until_seq``), and the first keyed event's MAC covers the last legacy hash, so the
legacy part cannot be rewritten without breaking the keyed part.
"""

from django.db import migrations, models


def mark_legacy(apps, schema_editor):
    Head = apps.get_model("audit", "AuditChainHead")
    Head.objects.filter(id=1, last_seq__gt=0).update(
        legacy_until_seq=models.F("last_seq"), scheme="hmac-sha256"
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
        migrations.RunPython(mark_legacy, migrations.RunPython.noop),
    ]
