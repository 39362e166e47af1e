"""The JSON skin: same action, same messages, same scoping as the page."""

from __future__ import annotations

import json

from trialdesk.crfs.tests.test_entry import vitals


def _url(p, visit="D7", form="vitals"):
    return f"/api/v1/NCT07183384/crfs/participants/{p.subject_id}/visits/{visit}/forms/{form}"


def _post(client, url, values, **extra):
    """Save as a client does: the revision it read with GET (0 when it may not read)."""
    read = client.get(url)
    revision = read.json()["revision"] if read.status_code == 200 else 0
    body = {
        "revision": revision,
        "values": {k: v for k, v in values.items() if not k.endswith("__unit")},
        **extra,
    }
    return client.post(url, json.dumps(body), content_type="application/json")


def test_save_and_read_through_the_api(login, participant_a):
    client = login("coord_a")
    response = _post(client, _url(participant_a), vitals(hr="140"), complete=True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "complete" and body["queries_opened"] == 1 and body["alerts"] == 1
    items = {i["item"]: i for i in body["items"]}
    assert items["hr"]["value"] == 140 and items["map"]["status"] == "derived"
    assert client.get(_url(participant_a)).json()["queries"][0]["item"] == "hr"
    assert [q["item"] for q in client.get("/api/v1/NCT07183384/crfs/queries").json()] == ["hr"]


def test_rejections_carry_the_same_messages(login, participant_a):
    response = _post(login("coord_a"), _url(participant_a), vitals(sbp="400"))
    assert response.status_code == 422
    assert (
        response.json()["errors"]["sbp"]
        == "sbp = 400 mmHg is outside 50–300 mmHg (impossible value)"
    )


def test_api_scoping_and_roles(login, participant_a):
    assert login("coord_b").get(_url(participant_a)).status_code == 404
    assert _post(login("coord_b"), _url(participant_a), vitals()).status_code == 404
    assert _post(login("monitor"), _url(participant_a), vitals()).status_code == 403
    assert login("dsmb").get(_url(participant_a)).status_code == 403
    assert login("monitor").get(_url(participant_a)).status_code == 200
    assert "01-001" not in login("coord_b").get("/api/v1/NCT07183384/crfs/queries").content.decode()
