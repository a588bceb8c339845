"""Global commands: a short whole message such as "menú", "atrás" or "Yanapa"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from bot.understanding.text import norm_key, normalise, squeeze

MAX_COMMAND_WORDS: Final = 6
"""A global command is a short message: at most this many words once fillers are dropped."""


Command = Literal["menu", "back", "help", "cancel", "language", "human", "restart", "more", "erase"]

_HUMAN_VERBS: Final = (
    "hablar con", "conversar con", "comunicarme con", "contactar con", "contactar a",
)  # fmt: skip
_HUMAN_WHO: Final = (
    "una persona", "un humano", "alguien", "un asesor", "una asesora", "un especialista",
    "una especialista", "un abogado", "una abogada", "un operador", "una operadora", "un agente",
    "un funcionario", "una funcionaria", "una persona real", "personal",
)  # fmt: skip

GLOBAL_COMMANDS: Final[Mapping[Command, tuple[str, ...]]] = {
    "menu": (
        "menú", "menu", "inicio", "menú principal", "volver al menú", "volver al inicio",
        "ir al menú", "ir al inicio", "regresar al menú", "regresar al inicio", "al menú",
        "ver menú", "ver el menú", "mostrar menú", "el menú",
        "main menu", "home", "show menu", "go to menu", "back to menu",
        # ⚠ Quechua "Qillqay qaway" (Firefox quy "menu", low confidence): recognised, not shown.
        "qillqay qaway",
    ),
    "back": (
        "atrás", "atras", "volver", "regresar", "volver atrás", "ir atrás", "regresar atrás",
        "paso anterior", "volver al paso anterior",
        "back", "go back",
        # Quechua: Kutiy (Firefox quy "back"), Kutimuy (MediaWiki "returnto"),
        # Qhipaman (Sugar "Back").
        "kutiy", "kutimuy", "qhipaman",
    ),
    "help": (
        "ayuda", "ayúdame", "ayudame", "ayúdeme", "ayudeme", "auxilio", "no entiendo",
        "no comprendo", "cómo funciona", "como funciona",
        "help", "help me",
        # Quechua: Yanapa (MediaWiki "help"), Yanapay (AbiWord), Yanapana (Common Voice quy).
        "yanapa", "yanapay", "yanapana",
    ),
    "cancel": (
        "cancelar", "cancela", "cancélalo", "cancelar todo", "cancelar esto", "anular", "salir",
        "salirme", "terminar", "basta",
        "cancel", "exit", "quit",
        # Quechua: Ama niy and Tatiy (MediaWiki "cancel"), Tatichiy (Firefox quy),
        # Lluqsiy (MediaWiki "logout", AbiWord "Quit": exit).
        "ama niy", "tatiy", "tatichiy", "lluqsiy",
    ),
    "language": (
        "idioma", "cambiar idioma", "cambiar de idioma", "cambiar el idioma", "otro idioma",
        "lengua", "cambiar lengua",
        "language", "change language", "languages",
        # Quechua: Simi (AbiWord "Language").
        "simi",
    ),
    "human": (
        "humano", "asesor", "asesora", "especialista", "operador", "operadora", "agente",
        "persona real", "atención humana",
        *(f"{verb} {who}" for verb in _HUMAN_VERBS for who in _HUMAN_WHO),
        "human", "agent", "operator", "representative", "real person", "talk to a human",
        "talk to a person", "speak to a person", "talk to someone", "speak to someone",
        "talk to an agent",
    ),
    "restart": (
        "reiniciar", "empezar de nuevo", "comenzar de nuevo", "empezar otra vez",
        "volver a empezar", "desde el principio",
        "restart", "start", "start over", "reset",  # "/start" is Telegram's first message
    ),
    # Only a command where the question has more options than one page shows (WhatsApp).
    "more": (
        "más", "mas", "más opciones", "mas opciones", "ver más", "ver mas", "ver más opciones",
        "otras opciones", "siguientes", "siguiente página",
        "more", "more options", "show more", "next page",
        # Quechua: Aswan (MediaWiki "moredotdotdot"), Qatiq p'anqa (next page).
        "aswan", "aswan akllanakuna", "qatiq p'anqa",
    ),
    # The privacy notice promises «borrar mis datos» at any time (Ley 29733); a yes follows.
    "erase": (
        "borrar mis datos", "eliminar mis datos", "borrar datos", "borrar todos mis datos",
        "eliminar mis datos personales", "borrar mis datos personales",
        "delete my data", "erase my data", "delete my personal data",
    ),
}  # fmt: skip
"""Whole-message phrases of each global command (Spanish, English, attested Quechua)."""

COMMAND_FILLERS: Final[tuple[tuple[str, ...], tuple[str, ...]]] = (
    # Dropped at the start.
    (
        "por favor", "porfa", "porfavor", "please", "pls", "plis", "hola", "oye", "ok",
        "ama hina kaspa", "quiero", "queria", "quisiera", "deseo", "necesito", "puedo",
        "podria", "me gustaria", "i want to", "i want", "i need", "i would like to", "can i",
        "let me",
    ),
    # Dropped at the end.
    ("por favor", "porfa", "porfavor", "please", "pls", "plis", "gracias", "thanks",
     "ama hina kaspa"),
)  # fmt: skip
"""Politeness and wishes around a command ("quiero volver al menú, por favor")."""

_COMMAND_KEYS: Final[Mapping[str, Command]] = {
    norm_key(phrase): command for command, phrases in GLOBAL_COMMANDS.items() for phrase in phrases
}
_LEADING_FILLERS: Final = tuple(
    sorted((norm_key(f).split() for f in COMMAND_FILLERS[0]), key=len, reverse=True)
)
_TRAILING_FILLERS: Final = tuple(
    sorted((norm_key(f).split() for f in COMMAND_FILLERS[1]), key=len, reverse=True)
)
_QUESTION_MARKS_ONLY: Final = re.compile(r"\s*[¿?]+\s*")


def _strip_fillers(words: list[str]) -> list[str]:
    """Drop politeness and wishes from both ends of a message's words."""
    changed = True
    while changed and words:
        changed = False
        for filler in _LEADING_FILLERS:
            if len(words) > len(filler) and words[: len(filler)] == filler:
                words = words[len(filler) :]
                changed = True
                break
        for filler in _TRAILING_FILLERS:
            if len(words) > len(filler) and words[-len(filler) :] == filler:
                words = words[: -len(filler)]
                changed = True
                break
    return words


def global_command(text: str) -> Command | None:
    """Return the global command a short message is ("menú", "atrás", "Yanapa"...), or None."""
    if len(text) > 120:
        return None
    if _QUESTION_MARKS_ONLY.fullmatch(text):
        return "help"
    words = _strip_fillers(squeeze(normalise(text)).split())
    if not words or len(words) > MAX_COMMAND_WORDS:
        return None
    return _COMMAND_KEYS.get(" ".join(words))
