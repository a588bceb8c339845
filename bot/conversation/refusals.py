"""The catalogue's explanation of a refusal reason (a core refusal or an action's outcome)."""

from __future__ import annotations

from collections.abc import Mapping

from bot import i18n


def refusal_text(lang: str, reason: str, params: Mapping[str, str] | None = None) -> str:
    """The explanation of `reason` in `lang` (a generic one for unknown codes).

    `params` fill the message's placeholders (for example the appointment already held at
    that time); the usual ones default to empty.
    """
    try:
        return i18n.t(
            f"refusal.{reason}", lang, **{"region": "", "name": "", "day": "", **(params or {})}
        )
    except KeyError:
        return i18n.t("refusal.error", lang)
