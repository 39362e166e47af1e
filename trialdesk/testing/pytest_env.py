"""pytest plugin (loaded with -p before pytest-django): test-only settings from the environment.

Real deployments set TRIALDESK_SECRET_KEY / TRIALDESK_PII_KEY / TRIALDESK_AUDIT_KEY themselves; these values are for
tests only and protect nothing.
"""

import os
import tempfile

# Here rather than in pyproject so that pure-core runs with `-p no:django` see no unknown option.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.site.settings")
os.environ.setdefault("TRIALDESK_SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("TRIALDESK_PII_KEY", "7rCjDdcqcSU7t7xFCedZbi4yjF9loxd5fZn10v7Irpo=")
os.environ.setdefault("TRIALDESK_AUDIT_KEY", "test-only-audit-key-not-a-secret")
os.environ.setdefault("TRIALDESK_DATA_DIR", tempfile.mkdtemp(prefix="trialdesk-test-"))
