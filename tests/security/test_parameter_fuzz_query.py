"""The query-parameter half of the parameter fuzz (tests/security/test_parameter_fuzz.py), in
its own file so that the two long fuzz runs go to different test workers."""

from __future__ import annotations

import pytest

from tests.security.test_parameter_fuzz import (
    HOSTILE,
    _check,
    _clients,
    _endpoints,
    _fill,
    _query_names,
    _quote,
)


@pytest.mark.slow
def test_hostile_query_parameters_never_crash(fuzz_world, personas):
    clients, failures, sent = _clients(personas), [], 0
    seen = 0
    for raw, callback in _endpoints():
        names = _query_names(callback)
        seen += bool(names)
        url = _fill(raw, fuzz_world)
        for name in sorted(names):
            for value in HOSTILE:
                query = f"{name}={_quote(value)}"
                for who, client in clients.items():
                    for method in ("get", "post"):
                        _check(client, who, method, f"{url}?{query}", failures)
                        sent += 1
    assert seen >= 5, "the enumeration found too few query parameters: it is broken"
    assert not failures, f"{len(failures)} of {sent} requests crashed:\n" + "\n".join(failures[:60])
