"""The steps that read one typed answer: yes or no, a text, a phone number, a document."""

from __future__ import annotations

from bot.conversation.state import OFFERED_STEP
from bot.conversation.turn import Turn
from bot.flows.schema import Step
from bot.flows.steps.offers import typed_number
from bot.flows.steps.results import Accepted, AcceptResult, Rejected
from bot.understanding import yes_no
from core.documents import normalise_document, normalise_phone
from core.errors import InvalidDocument, InvalidPhone
from core.models import DocumentType
from core.names import looks_like_name, tidy_name

# Text answers that must look like a name (core/names.py); each has a "<key>.invalid" message.
NAME_ANSWERS = frozenset({"name", "company_name"})


def accept_yes_no(step: Step, turn: Turn) -> AcceptResult:
    """A clear yes or no: the button, the option's number or words (an emoji alone is not)."""
    payload = turn.inbound.payload
    said = "yes" if payload == "yes" else "no" if payload == "no" else None
    if said is None and turn.state.get(OFFERED_STEP) == step.name:
        said = typed_number(turn)  # «1» at a «1. Sí / 2. No» list
    # A clear answer only: words, the option's number or the button; an emoji alone
    # (👍 is often a mere acknowledgment) never consents, confirms or erases.
    answer = yes_no(turn.inbound.text, turn.lang, emoji=False) if said is None else said == "yes"
    if answer is None:
        return Rejected(turn.t("hint.yes_no"))
    return Accepted("yes" if answer else "no", value=answer)


def accept_phone(turn: Turn) -> AcceptResult:
    """A Peruvian phone number, shared as a contact or typed."""
    raw = turn.inbound.contact_phone or turn.inbound.text
    try:
        return Accepted(value=normalise_phone(raw))
    except InvalidPhone as refused:
        code = refused.context.get("code", "phone_invalid")
        return Rejected(turn.t(f"phone.invalid.{code}"), understood=True)


def accept_text(step: Step, turn: Turn) -> AcceptResult:
    """A free text within the step's length; a name must look like one."""
    text = turn.inbound.text.strip()
    if not text:
        return Rejected(turn.t("text.empty"))
    if len(text) > step.max_length:
        return Rejected(turn.t("text.too_long", max=step.max_length), understood=True)
    if step.save in NAME_ANSWERS and not looks_like_name(text, company=step.save == "company_name"):
        return Rejected(turn.t(f"{step.save}.invalid"))
    if step.save == "name":
        return Accepted(value=tidy_name(text))
    return Accepted(value=text)


def accept_document(turn: Turn) -> AcceptResult:
    """A document number valid for the document type answered (DNI by default)."""
    doc_type = DocumentType(str(turn.value("doc_type") or DocumentType.DNI))
    try:
        return Accepted(value=normalise_document(doc_type, turn.inbound.text))
    except InvalidDocument as refused:
        code = refused.context.get("code", "empty")
        return Rejected(turn.t(f"document.invalid.{code}"), understood=True)
