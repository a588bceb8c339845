"""Free slots: weekly hours and breaks, closures and holidays, notice, horizon, buffers.

`slots` computes them from a snapshot, `load` reads that snapshot, `search` answers the
questions the bot and the booking core ask.
"""

from core.availability.load import (
    Offer,
    load_schedule,
    lookup_offer,
    open_offer,
    tenant_service_rules,
)
from core.availability.search import (
    FIRST_WINDOW,
    DaySlots,
    NoSlots,
    day_slots,
    earliest_slots,
    first_free_slots,
    free_slots,
    next_free_days,
)
from core.availability.slots import (
    Rules,
    Schedule,
    Slot,
    SpecialistDay,
    compute_slots,
    free_at,
    local_days,
)

__all__ = [
    "FIRST_WINDOW",
    "DaySlots",
    "NoSlots",
    "Offer",
    "Rules",
    "Schedule",
    "Slot",
    "SpecialistDay",
    "compute_slots",
    "day_slots",
    "earliest_slots",
    "first_free_slots",
    "free_at",
    "free_slots",
    "load_schedule",
    "local_days",
    "lookup_offer",
    "next_free_days",
    "open_offer",
    "tenant_service_rules",
]
