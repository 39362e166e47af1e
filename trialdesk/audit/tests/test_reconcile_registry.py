"""Every table of the trialdesk apps is reconciled by `audit verify`, or exempt with a reason."""

from __future__ import annotations

from django.apps import apps

from trialdesk.audit.reconcile import RECONCILERS, UNRECONCILED


def _trialdesk_models() -> set[str]:
    return {
        model._meta.label_lower
        for config in apps.get_app_configs()
        if config.name.startswith("trialdesk.")
        for model in config.get_models()
        if not model._meta.proxy and model._meta.managed
    }


def test_every_model_is_reconciled_or_exempt_with_a_reason():
    models = _trialdesk_models()
    missing = sorted(models - RECONCILERS.keys() - UNRECONCILED.keys())
    assert not missing, f"register a reconciler (or exempt with a reason) for {missing}"
    both = sorted(RECONCILERS.keys() & UNRECONCILED.keys())
    assert not both, f"registered and exempt at once: {both} (remove the exemption)"
    assert all(reason.strip() for reason in UNRECONCILED.values())


def test_registry_names_only_real_models():
    models = _trialdesk_models()
    assert sorted(RECONCILERS.keys() - models) == []
    assert sorted(UNRECONCILED.keys() - models) == []


def test_the_audit_app_registers_nothing_of_the_apps_above_it():
    """audit is a lower layer: each app registers its own tables from its AppConfig.ready()."""
    import inspect

    from trialdesk.audit import reconcile

    source = inspect.getsource(reconcile)
    for higher in ("crfs", "participants", "enrolment", "randomization", "visits"):
        assert f"trialdesk.{higher}" not in source
