"""How higher apps react to eCRF data, without crfs importing them (docs/architecture.md).

- ``on_form_saved``: ``fn(form_instance, changed_items, acting_user, role)`` runs inside the
  saving action's transaction after a form's stored values changed — a person's save
  (``do_save_form``) or a fill from an action's record (``fill_from_record``). The safety app
  keeps its adverse-event versions and reporting clocks from it; the DSMB app re-evaluates the
  protocol's stopping rules. A hook that raises refuses the whole save (nothing is written).

Each hook is registered once from the higher app's ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable

FormHook = Callable[..., object]

on_form_saved: list[FormHook] = []


def register_on_form_saved(fn: FormHook) -> None:
    if fn in on_form_saved:
        raise ValueError(f"{fn.__module__}.{fn.__qualname__} is already registered")
    on_form_saved.append(fn)


def form_saved(fi, changed: list[str], acting_user, role) -> None:
    """Run the hooks (called by crfs actions only when ``changed`` is not empty)."""
    for fn in on_form_saved:
        fn(fi, list(changed), acting_user, role)
