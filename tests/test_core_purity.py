"""trialdesk.core never imports Django: proven in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from trialdesk.paths import DEFAULT_PROTOCOL, PROJECT_DIR

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    import trialdesk.core
    import trialdesk.core.protocol, trialdesk.core.rules, trialdesk.core.units
    import trialdesk.commands.protocol
    for info in pkgutil.walk_packages(trialdesk.core.__path__, "trialdesk.core."):
        importlib.import_module(info.name)
    from trialdesk.core.protocol import load_protocol
    load_protocol(sys.argv[1])
    bad = sorted(m for m in sys.modules if m == "django" or m.startswith(("django.", "ninja")))
    print("IMPORTED:", ",".join(bad) or "none")
    """
)


def test_core_does_not_import_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DEFAULT_PROTOCOL)],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("IMPORTED: none"), result.stdout
