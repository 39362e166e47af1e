"""Finding 8 of issue 9: a blinded form must not ask for what tells the product apart.

Every eCRF form is entered by (blinded) site staff, so ``protocol_warnings`` looks at every
field: the explicit ``unblinding`` flag first, then the name rule and arm-mirroring codelists
(``checks.product_field``). Warnings never stop a protocol from loading.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.core.protocol.test_protocol_minimal import MINIMAL
from trialdesk.commands.protocol import protocol
from trialdesk.core.protocol import load_protocol, load_protocol_text
from trialdesk.core.protocol.checks import protocol_warnings
from trialdesk.core.protocol.loader import locate_warnings
from trialdesk.paths import DEFAULT_PROTOCOL

FIELD_A = "      a: {type: decimal, label: {en: a, id: a}}\n"


def _warned(extra: str, codelists: str = "") -> list[str]:
    text = MINIMAL.replace(FIELD_A, FIELD_A + extra, 1)
    if codelists:
        text = text.replace("forms:\n", codelists + "forms:\n", 1)
    p = load_protocol_text(text)  # a warning never stops the load
    return [".".join(map(str, loc)) for loc, _ in protocol_warnings(p)]


@pytest.mark.parametrize(
    "code", ["product_lot", "batch", "kit_batch_no", "lotno", "product_name", "assigned_arm"]
)
def test_a_field_named_for_the_product_warns(code):
    line = f"      {code}: {{type: text, max_length: 20, label: {{en: x, id: x}}}}\n"
    assert _warned(line) == [f"forms.base.fields.{code}"]


@pytest.mark.parametrize("code", ["arm_side", "treatment_emergent", "drug", "kit_id", "plot"])
def test_ordinary_fields_do_not_warn(code):
    line = f"      {code}: {{type: text, max_length: 20, label: {{en: x, id: x}}}}\n"
    assert _warned(line) == []


def test_the_explicit_flag_wins_over_the_name():
    flagged = "      vial_colour: {type: text, label: {en: x, id: x}, unblinding: true}\n"
    assert _warned(flagged) == ["forms.base.fields.vial_colour"]
    reviewed = "      reagent_lot: {type: text, label: {en: x, id: x}, unblinding: false}\n"
    assert _warned(reviewed) == []


def test_a_codelist_of_the_arms_warns():
    codelists = (
        "codelists:\n  arm_guess:\n    mirrors: arms\n    items:\n"
        "      A: {label: {en: A, id: A}}\n      B: {label: {en: B, id: B}}\n"
    )
    line = "      guess: {type: choice, codelist: arm_guess, label: {en: x, id: x}}\n"
    assert _warned(line, codelists) == ["forms.base.fields.guess"]


def test_the_old_dosing_form_warned_and_the_study_protocol_does_not(tmp_path: Path):
    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    assert "product_lot" not in text and not protocol_warnings(load_protocol(DEFAULT_PROTOCOL))
    old = text.replace(
        "      route:\n        type: choice\n",
        "      product_lot:\n        type: text\n        max_length: 40\n"
        "        label: {en: Product lot, id: Lot produk}\n"
        "      route:\n        type: choice\n",
        1,
    )
    assert "product_lot" in old
    path = tmp_path / "old.yaml"
    path.write_text(old, encoding="utf-8")
    [w] = locate_warnings(old, load_protocol(path))
    assert w.path == "forms.dosing.fields.product_lot" and w.line is not None
    result = CliRunner().invoke(protocol, ["check", str(path)])
    assert result.exit_code == 0 and "warning:" in result.output and "product_lot" in result.output
