"""Notices about a citizen's record: the owner told that another chat typed their document."""

from __future__ import annotations

from datetime import datetime

from bot import i18n
from bot.messages import Outbound
from bot.outbox.notify.reach import T_DOCUMENT_USED, find_reach, masked, numbered, to_reach
from bot.outbox.rows import write
from core.models import Citizen
from core.uow import UnitOfWork


async def document_used(uow: UnitOfWork, owner_id: int, claimer_id: int, *, now: datetime) -> int:
    """Tell a document's owner, on their own chat, that another chat typed their document.

    Nothing about the other person is said; one notice per claiming record (keyed).
    """
    owner = await uow.session.get(Citizen, owner_id)
    if owner is None or owner.erased_at is not None:
        return 0
    lang = owner.preferred_language
    document = masked(owner.document_number)
    text = i18n.t("notify.document_used", lang, document=document)
    notes = to_reach(
        await find_reach(uow, owner_id, None),
        lang,
        key=f"citizen:{owner_id}:document_used:{claimer_id}",
        message=Outbound(text),
        kind="notification",
        subject=f"citizen:{owner_id}",
        tenant_id=None,
        due_at=now,
        template=T_DOCUMENT_USED,
        template_vars=numbered(document),
    )
    return await write(uow, notes, now=now)
