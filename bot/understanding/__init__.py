"""Understanding what a citizen types, in Spanish first: options, yes/no, commands, services.

Pure and fast: no I/O, no database, no citizen-facing text. Every reader works on normalised text
(`text.normalise`); `dates` reads days and times, `needs` what a citizen needs from the labelled
corpus, `places` the province or district a citizen names. The rules, and why each was chosen,
are in docs/conversation.md ("Reading what citizens type").
"""

from bot.understanding.commands import (
    COMMAND_FILLERS,
    GLOBAL_COMMANDS,
    MAX_COMMAND_WORDS,
    Command,
    global_command,
)
from bot.understanding.options import (
    AMBIGUITY_MARGIN,
    NUMBER_WORDS,
    OPTION_FILLERS,
    ORDINALS,
    Choice,
    MatchHow,
    MatchResult,
    match_option,
    names_a_position,
)
from bot.understanding.services import (
    MAX_SERVICE_RESULTS,
    RELATIVE_FLOOR,
    ServiceEntry,
    ServiceMatch,
    rank_services,
    search_services,
)
from bot.understanding.text import MAX_TEXT_CHARS, STOPWORDS, normalise
from bot.understanding.yes_no import (
    CLAUSE_WORDS,
    INTERJECTIONS,
    NO_EMOJI,
    NO_PHRASES,
    POLITENESS,
    SINGLE_LETTER_ANSWERS,
    UNSURE_PHRASES,
    YES_EMOJI,
    YES_PHRASES,
    yes_no,
)

__all__ = [
    "AMBIGUITY_MARGIN",
    "CLAUSE_WORDS",
    "COMMAND_FILLERS",
    "GLOBAL_COMMANDS",
    "INTERJECTIONS",
    "MAX_COMMAND_WORDS",
    "MAX_SERVICE_RESULTS",
    "MAX_TEXT_CHARS",
    "NO_EMOJI",
    "NO_PHRASES",
    "NUMBER_WORDS",
    "OPTION_FILLERS",
    "ORDINALS",
    "POLITENESS",
    "RELATIVE_FLOOR",
    "SINGLE_LETTER_ANSWERS",
    "STOPWORDS",
    "UNSURE_PHRASES",
    "YES_EMOJI",
    "YES_PHRASES",
    "Choice",
    "Command",
    "MatchHow",
    "MatchResult",
    "ServiceEntry",
    "ServiceMatch",
    "global_command",
    "match_option",
    "names_a_position",
    "normalise",
    "rank_services",
    "search_services",
    "yes_no",
]
