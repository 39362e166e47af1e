"""The e-consent record as a PDF (reportlab): what was signed, by whom, when, and the drawn
signature. Stored once with its SHA-256; the download view re-checks the hash."""

from __future__ import annotations

import base64
import binascii
import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

PNG_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 512 * 1024


def decode_signature(data_url: str) -> bytes:
    """PNG bytes from a canvas data URL, or ValueError saying what is wrong."""
    if not data_url.startswith(PNG_PREFIX):
        raise ValueError("the signature must be a PNG data URL (data:image/png;base64,…)")
    try:
        raw = base64.b64decode(data_url[len(PNG_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the signature is not valid base64: {exc}") from exc
    if not raw.startswith(b"\x89PNG") or len(raw) > MAX_SIGNATURE_BYTES:
        raise ValueError("the signature is not a PNG image of at most 512 KiB")
    return raw


def consent_pdf(
    *,
    study: str,
    version: str,
    version_label: str,
    subject_id: str,
    consented_at: str,
    obtained_by: str,
    witness: str,
    signature_png: bytes,
) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(f"Informed consent {subject_id} {version}")
    y = A4[1] - 25 * mm
    lines = [
        ("Helvetica-Bold", 14, f"Informed consent record — {study}"),
        ("Helvetica", 11, f"Consent form version: {version} ({version_label})"),
        ("Helvetica", 11, f"Participant: {subject_id}"),
        ("Helvetica", 11, f"Date and time of consent: {consented_at}"),
        ("Helvetica", 11, f"Consent obtained by: {obtained_by}"),
        ("Helvetica", 11, f"Impartial witness: {witness or 'none'}"),
        ("Helvetica", 11, "Participant's signature:"),
    ]
    for font, size, text in lines:
        c.setFont(font, size)
        c.drawString(20 * mm, y, text)
        y -= 9 * mm
    c.drawImage(
        ImageReader(io.BytesIO(signature_png)),
        20 * mm,
        y - 40 * mm,
        width=90 * mm,
        height=40 * mm,
        preserveAspectRatio=True,
        mask="auto",
    )
    c.showPage()
    c.save()
    return buf.getvalue()
