"""Finding 7: hostile values in every path and query parameter of every endpoint never give a
500 or a traceback, on SQLite and on PostgreSQL (run the suite with DATABASE_URL=postgres://…).

Endpoints come from the site itself, not from a list kept by hand: every Django URL pattern
(the ninja APIs included: they are URL patterns too) with each path parameter replaced by each
hostile value, and every query parameter a view reads (`request.GET[...]` in its module) or a
ninja operation declares, filled with each hostile value while the path holds real ids. Each
request runs as several personas, by GET and by POST.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
import urllib.parse

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from trialdesk.site.urls import urlconf_for

HOSTILE = [
    "-1", "0", "32768", str(2**31), str(2**63), "99999999999", "abc", "", "x" * 3000,
    "١٢٠", "１２０", "1e3", "0x78", "../", "..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", "' OR 1=1 --",
    "NaN", "-0", "1.5", "🙂",
]  # fmt: skip
PERSONAS = [
    "coord_a",
    "inv_a",
    "monitor",
    "dm",
    "pharm_a",
    "stat",
    "ustat",
    "dsmb",
    "safety",
    "admin",
]
STUDY = "NCT07183384"  # each study has its own URLconf (trialdesk.site.urls)
SKIP = re.compile(r"\(\?P<rest>|^/admin/|^/static/|logout|^/i18n/")
TOKEN = re.compile(r"<(?:(\w+):)?(\w+)>")
GET_NAMES = re.compile(r"""request\.GET(?:\.get|\.getlist|\[)\(?\s*["'](\w+)["']""")


def _patterns(resolvers, prefix=""):
    for p in resolvers:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield "/" + prefix + str(p.pattern), p.callback


def _query_names(callback) -> set[str]:
    """Query parameters the endpoint reads: a ninja operation's declared query params, or the
    request.GET names in the Django view's module."""
    names: set[str] = set()
    cells = [c.cell_contents for c in (getattr(callback, "__closure__", None) or ())]
    view = next((c for c in cells if hasattr(c, "operations")), None)  # a ninja PathView
    for op in getattr(view, "operations", []):
        for model in op.models:
            if getattr(model, "__ninja_param_source__", "") != "query":
                continue
            for name, f in model.model_fields.items():
                ann = f.annotation
                if inspect.isclass(ann) and hasattr(ann, "model_fields"):  # QueryParam[Schema]
                    names |= set(ann.model_fields)
                else:
                    names.add(f.alias or name)
    if view is None:
        func = getattr(callback, "func", callback)  # functools.partial (e.g. the admin)
        module = importlib.import_module(inspect.unwrap(func).__module__)
        names |= set(GET_NAMES.findall(inspect.getsource(module)))
    return names


def _endpoints():
    for raw, callback in _patterns(get_resolver(urlconf_for(STUDY)).url_patterns):
        raw = raw.replace("^", "").replace("$", "")
        if not SKIP.search(raw):
            yield raw, callback


def _fill(raw: str, real: dict, override: tuple[int, str] | None = None) -> str:
    slots = TOKEN.findall(raw)
    url = raw
    for i, (_kind, name) in enumerate(slots):
        value = override[1] if override and override[0] == i else real.get(name, "1")
        url = TOKEN.sub(_quote(value), url, count=1)
    return url


def _quote(value: str) -> str:
    # "%00" and "..%2F" are sent as they are (already encoded); everything else encoded.
    return value if "%" in value else urllib.parse.quote(value, safe="")


def _check(client: Client, who: str, method: str, url: str, failures: list) -> None:
    response = getattr(client, method)(url)
    body = b"" if response.streaming else response.content
    if response.status_code >= 500 or b"Traceback" in body:
        failures.append(f"{who} {method.upper()} {url[:160]} -> {response.status_code}")


def _clients(personas) -> dict[str, Client]:
    out = {}
    for who in PERSONAS:
        c = Client(raise_request_exception=False)
        c.force_login(personas[who])
        out[who] = c
    out["anonymous"] = Client(raise_request_exception=False)
    return out


@pytest.mark.slow
def test_hostile_path_parameters_never_crash(fuzz_world, personas):
    clients, failures, sent = _clients(personas), [], 0
    for raw, _callback in _endpoints():
        for i, _slot in enumerate(TOKEN.findall(raw)):
            for value in HOSTILE:
                url = _fill(raw, fuzz_world, (i, value))
                for who, client in clients.items():
                    for method in ("get", "post"):
                        _check(client, who, method, url, failures)
                        sent += 1
    assert sent > 1000
    assert not failures, f"{len(failures)} of {sent} requests crashed:\n" + "\n".join(failures[:60])


def test_the_enumeration_finds_the_known_parameters():
    found = {raw: _query_names(cb) for raw, cb in _endpoints()}
    api = "/api/v1/NCT07183384/crfs/participants/<subject_id>/visits/<visit_code>/forms/<form_code>"
    assert "repeat" in found[api]
    assert {"format", "from", "to"} <= found["/staff/NCT07183384/audit/export/"]
    assert "simulations" in found["/staff/NCT07183384/randomization/report/"]
    assert dt  # (the module imports datetime for fixtures elsewhere)


POST_NAMES = re.compile(r"""(?:request\.POST|post)\.get(?:list)?\(\s*["'](\w+)["']""")
ACTIONS = re.compile(r"""what == ["'](\w+)["']""")
CALLS = re.compile(r"\b(_?\w+)\(")
POST_HOSTILE = ["-1", "abc", "x" * 3000, "١٢٠", "\x00", "99999999999", "", "1e3"]
WRITERS = ["coord_a", "inv_a", "pharm_a", "dm", "ustat", "admin"]


def _view_source(callback) -> str:
    """The view function's source plus that of the module functions it calls (two levels):
    where its POST keys and its `action` values are read."""
    func = inspect.unwrap(getattr(callback, "func", callback))
    module = importlib.import_module(func.__module__)
    seen, todo, parts = set(), [func], []
    for _depth in range(3):
        nxt = []
        for f in todo:
            if f in seen:
                continue
            seen.add(f)
            try:
                src = inspect.getsource(f)
            except (OSError, TypeError):
                continue
            parts.append(src)
            for name in CALLS.findall(src):
                g = getattr(module, name, None)
                if inspect.isfunction(g) and g.__module__ == module.__name__:
                    nxt.append(g)
        todo = nxt
    return "\n".join(parts)


@pytest.mark.slow
def test_hostile_form_fields_never_crash(fuzz_world, personas):
    """Beyond path and query: the POST keys each view reads, with each action it dispatches on —
    every key at once, then each key alone."""
    clients, failures, sent = _clients(personas), [], 0
    clients = {who: clients[who] for who in WRITERS}
    for raw, callback in _endpoints():
        if "/api/" in raw:
            continue  # JSON bodies are validated by the ninja schemas (tested above)
        source = _view_source(callback)
        keys = sorted(set(POST_NAMES.findall(source)) - {"action", "csrfmiddlewaretoken"})
        if not keys:
            continue
        actions = sorted(set(ACTIONS.findall(source))) or [""]
        url = _fill(raw, fuzz_world)
        for action in actions:
            for value in POST_HOSTILE:
                bodies = [dict.fromkeys(keys, value)] + [{k: value} for k in keys]
                for data in bodies:
                    if action:
                        data["action"] = action
                    for who, client in clients.items():
                        response = client.post(url, data)
                        sent += 1
                        if response.status_code >= 500 or b"Traceback" in response.content:
                            failures.append(
                                f"{who} POST {url} {sorted(data)}={value[:12]!r} -> "
                                f"{response.status_code}"
                            )
    assert sent > 1000
    assert not failures, f"{len(failures)} of {sent} requests crashed:\n" + "\n".join(failures[:60])
