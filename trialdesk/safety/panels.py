"""Panels that higher apps add to the safety dashboard (docs/architecture.md, registries).

``register_dashboard_panel(fn)``: ``fn(request)`` returns rendered HTML (a SafeString from
``render_to_string``) or "" — the DSMB app adds the stopping rules' current state, shown by
arm only to the roles that may see arms. Registered from the higher app's ``ready()``.
"""

from __future__ import annotations

from collections.abc import Callable

Panel = Callable[..., str]

dashboard_panels: list[Panel] = []


def register_dashboard_panel(fn: Panel) -> None:
    if fn in dashboard_panels:
        raise ValueError(f"{fn.__module__}.{fn.__qualname__} is already registered")
    dashboard_panels.append(fn)


def render_panels(request) -> list[str]:
    return [html for html in (fn(request) for fn in dashboard_panels) if html]
