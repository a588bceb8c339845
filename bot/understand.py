"""Understand what a citizen types: options, yes/no, global commands and service searches.

Pure and fast: no I/O, no database, no citizen-facing text. Everything works on *normalised*
text (see `normalise`): lower case, accents dropped ("ñ" becomes "n"), apostrophes joined
("p'unchaw" -> "punchaw"), every other character that is not a letter or a digit (punctuation,
emoji, "_") turned into a space, spaces collapsed. Dates live in `bot.understand_dates`.

Word lists (module-level data, Spanish first, then English, then Quechua):

- `STOPWORDS`: function words and chat fillers dropped before containment and fuzzy matching.
- `ORDINALS`, `NUMBER_WORDS`, `OPTION_FILLERS`: how an option is picked by position.
- `YES_PHRASES`, `NO_PHRASES`, `UNSURE_PHRASES`, `YES_EMOJI`, `NO_EMOJI`, `SINGLE_LETTER_ANSWERS`,
  `CLAUSE_WORDS`, `INTERJECTIONS`, `POLITENESS`: how a yes/no reply is read.
- `GLOBAL_COMMANDS` (command -> phrases) and `COMMAND_FILLERS`.

Quechua forms are only those attested in the glossary tests/fixtures/QUECHUA.md (MediaWiki,
glibc quz_PE, Mozilla quy, Sugar, AbiWord); doubtful ones (marked ⚠ there) are said so where
they are listed.

Decisions:

- Repeated letters are squeezed when looking words up in the yes/no and command tables, on both
  sides ("siii" -> "si", "ayudaaa" -> "ayuda", "okk" -> "ok"); digits are never squeezed.
- `match_option` tries, in order: the button payload; a position (1 or 2 digits, with or without
  "el", "la", "opción", "número", "2.", "2do"; number words "dos"; ordinals "la segunda",
  "la última", "second"); the whole text equal to a label (or to a payload); containment (a
  label of 4+ characters inside the text, or the text's content words at a word start inside a
  label: "quiero conciliacion" -> "Conciliación administrativa laboral"); then fuzzy word
  matching. A number of 3 or more digits (a DNI, a phone) is never a position, and digits are
  never matched fuzzily. A position out of range falls through to the label stages.
- Fuzzy matching is word by word, not `fuzz.WRatio` over whole labels: WRatio scores "cita" 90
  against "capacitacion laboral" and "conciliasion" 90 against a label "Sí" (partial matching
  of short strings), so no cutoff separates typos from noise. A text word (4+ letters, not a
  stopword) is similar to a label or keyword word when, in this order of strength:
  both fold to the same Spanish spelling (c/s/z, b/v, y/ll/i, mute h, qu/k, double letters:
  "conciliasion" = "conciliacion", similarity 0.95); they share a stem (same stem after
  stripping a Spanish inflection: "paga"/"pago"; or a common prefix of 4+ letters covering all
  but 3 letters of the shorter word with tails of at most 5: "despidieron", "despedido",
  "despidio" -> "despido", 0.9); or rapidfuzz's optimal string alignment distance (a
  transposition counts one) between folded forms is at most 1 for words of 5-9 letters or 2
  for 10+ letters (0.85, 0.8), among words with the same first letter. Shorter words must
  match exactly after folding, which keeps "hola", "duda", "cita" or "xyz" from matching
  anything; stopwords and digits are never matched fuzzily.
- An option's fuzzy score is the sum over the text's content words of their best similarity to
  one of its labels' words (best label counts), so "consulta laboral" prefers "Consultas
  laborales" over "Capacitación laboral". Options within `AMBIGUITY_MARGIN` of the best are
  returned as `ambiguous` with no payload; so are exact or containment ties.
- `yes_no` splits the reply into clauses (at punctuation and "pero"/"aunque"/"but") and reads
  the answer phrase that opens each one (longest first, up to 4 words), after greetings and
  interjections ("hola, sí", "mmm no"). The first clause must open with an answer, so "quiero
  saber si..." is None; "sí, por favor" and "sí, mi empleador no me paga" are yes; "ya no" and
  "claro que no" are no; a reply carrying both ("sí, no", "sí pero no el lunes") is None, and so
  is any "I don't know" phrase anywhere ("no sé", "tal vez"). Emoji (👍 ✅ / 👎 ❌) count when
  the words say nothing and are at most 3, and make a contradicting reply None ("no 👍").
  Every language's words are accepted whatever `lang` is; `lang` only breaks ties for
  one-letter replies: "y" is yes in English and "and" in Spanish, "s" yes in Spanish only.
- `global_command` only fires when the whole message, minus politeness ("por favor",
  "gracias", "ama hina kaspa") and a leading wish ("quiero", "necesito"), is one of the listed
  phrases, and it has at most `MAX_COMMAND_WORDS` words: "quiero cancelar mi cita del lunes"
  is a request for the flows, not the global "cancel". "salir"/"exit"/"Lluqsiy" mean "cancel"
  (leave what is being done); Telegram's "/start" means "restart"; a message of only "?" is
  "help". Language names ("español", "quechua") and bare "abogado"/"asesoría" are not
  commands: they answer the language question or search for a service.
- `search_services` ranks services found by an exact keyword (or an exact acronym such as
  "CUL", or a whole name written out) before those found only by stems, spelling or typos.
  Within a tier, by score: each text word adds its best hit per service (keyword 1.0; a name
  word 1.6 shared by the name's content words, at most 0.8; a fuzzy hit 0.8 x that x the
  similarity); a whole name adds 1.5. Ties go to the service whose words are rarer (each
  word's share divided by how many services it hits: "juicio laboral" puts patrocinio before
  consultas), then to catalogue order. Services under `RELATIVE_FLOOR` of the best score are
  dropped; at most 5 are returned.
- Only the first `MAX_TEXT_CHARS` characters of a message are read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal, TypeVar

from rapidfuzz.distance import OSA

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
    "global_command",
    "match_option",
    "normalise",
    "search_services",
    "yes_no",
]

MAX_TEXT_CHARS: Final = 1000
"""Only this many leading characters of a message are read (WhatsApp allows 1600)."""
MAX_COMMAND_WORDS: Final = 6
"""A global command is a short message: at most this many words once fillers are dropped."""
MAX_SERVICE_RESULTS: Final = 5
AMBIGUITY_MARGIN: Final = 0.05
"""Fuzzy option scores this close to the best one make the match ambiguous."""
_MAX_POSITION_DIGITS: Final = 2
_MIN_LABEL_IN_TEXT: Final = 4
_MIN_FUZZY_WORD: Final = 4
_MAX_FUZZY_WORDS: Final = 30

# --- normalisation -------------------------------------------------------------------------

_APOSTROPHES: Final = "'’‘`´ʼ"


def _strip_marks(text: str) -> str:
    """Decompose (NFKD) and drop combining marks: "á" -> "a", "ñ" -> "n", "º" -> "o"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# Fast path: one translate() handles apostrophes and the accented Latin letters people type;
# anything still outside ASCII (emoji, "º", fullwidth digits...) goes through NFKD.
_LATIN: Final = str.maketrans(
    {
        **{
            chr(c): _strip_marks(chr(c))
            for c in range(0xC0, 0x250)
            if _strip_marks(chr(c)).isascii()
        },
        **dict.fromkeys(_APOSTROPHES, None),
    }
)
_NON_WORD: Final = re.compile(r"[\W_]+")
_REPEATED_LETTER: Final = re.compile(r"([^\W\d_])\1+")


def normalise(text: str) -> str:
    """Lower-case, drop accents and apostrophes, blank out all but letters/digits, squash spaces."""
    s = text.casefold()
    if not s.isascii():
        s = s.translate(_LATIN)
        if not s.isascii():
            s = _strip_marks(s)
    else:
        s = s.replace("'", "").replace("`", "")
    return " ".join(_NON_WORD.sub(" ", s).split())


def _squeeze(text: str) -> str:
    """Collapse runs of one repeated letter ("siii" -> "si"); digits are kept."""
    return _REPEATED_LETTER.sub(r"\1", text)


def _norm_key(text: str) -> str:
    """Return the lookup key of a table phrase or a message: normalised, letters squeezed."""
    return _squeeze(normalise(text))


# --- shared word lists -----------------------------------------------------------------------


def _wordset(text: str) -> frozenset[str]:
    """Return the blank-separated words of a data string (word lists stay readable)."""
    return frozenset(text.split())


STOPWORDS: Final[frozenset[str]] = _wordset(
    # Spanish function words and chat fillers (normalised: no accents).
    """a al ante bajo con contra de del desde e el en entre hacia hasta la las le les lo los me
    mi mis mio mia nos o para pero por que quien se sin sobre su sus te ti tu tus u un una unos
    unas y ya yo es son soy eres era fue fueron ser estar esta estan este esto estoy estas eso
    esa ese esos esas aqui ahi alli hay ha han he has hemos habia tengo tiene tienen tenia tener
    hacer hace hago hizo quiero quiere queria quisiera necesito necesita deseo desea puedo puede
    podria pueden saber sabe como cuando donde cual cuales porque pues mas muy tan tambien solo
    sola ahora hoy buenas buenos buen buena dia dias tardes noches hola ola gracias favor porfa
    porfavor ok si no ni nada algo alguien caso cosa cosas usted ustedes senor senora senorita
    mucho poco otro otra todo toda todos asi bien mal vez veces mismo ayuda ayudar ayudame
    informarme opcion opciones numero nro elijo escojo prefiero selecciono """
    # English.
    """the an and or of to for in on at by with my me i im you your is are was be it this that
    please thanks thank hi hello want need would like can could do does how what when where
    which option number """
    # Quechua: the words of the attested "Ama hina kaspa" (please).
    """hina kaspa"""
)

# Phonetic folding of Latin American Spanish spelling, applied to single words.
_C_SOFT: Final = re.compile(r"c(?=[ei])")
_ANY_REPEAT: Final = re.compile(r"(.)\1+")

# Inflectional endings stripped to compare stems ("pagaron"/"pago" -> "pag"), longest first.
_SUFFIXES: Final = tuple(
    sorted(
        _wordset(
            """aciones iciones amientos imientos amiento imiento ieron aron ando iendo aban iban
            ados adas idos idas ado ada ido ida aba ian ia io an en ar er ir as es os a e o s"""
        ),
        key=lambda suffix: (-len(suffix), suffix),
    )
)
_MIN_STEM: Final = 3


@lru_cache(maxsize=8192)
def _fold(word: str) -> str:
    """Fold Spanish spelling variants of one normalised word to one form."""
    w = word.replace("ch", "\0").replace("h", "").replace("ll", "y").replace("qu", "k")
    w = _C_SOFT.sub("s", w).replace("c", "k").replace("\0", "ch")
    w = w.replace("z", "s").replace("v", "b").replace("y", "i")
    return _ANY_REPEAT.sub(r"\1", w)


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    """Strip the longest Spanish inflectional ending, keeping at least three letters."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def _prefix_related(a: str, b: str) -> bool:
    """Tell whether two words share a long prefix with short tails ("despidieron"/"despido")."""
    p = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        p += 1
    return p >= 4 and p >= min(len(a), len(b)) - 3 and max(len(a), len(b)) - p <= 5


def _allowed_edits(length: int) -> int:
    """Return how many edits a typo may have in a (folded) word of this length."""
    if length >= 10:
        return 2
    if length >= 5:
        return 1
    return 0


_SIM_FOLD: Final = 0.95
_SIM_STEM: Final = 0.9
_SIM_TYPO: Final = (1.0, 0.85, 0.8)  # by edit distance 0, 1, 2


@dataclass(frozen=True, slots=True, eq=False)
class _Vocab:
    """Words to match against, with lookups for exact, folded, stemmed and prefixed forms."""

    words: tuple[str, ...]
    folded: tuple[str, ...]
    exact: Mapping[str, int]
    by_fold: Mapping[str, tuple[int, ...]]
    by_stem: Mapping[str, tuple[int, ...]]
    by_prefix: Mapping[str, tuple[int, ...]]
    by_head_length: Mapping[tuple[str, int], tuple[int, ...]]  # typo candidates


_Key = TypeVar("_Key", bound=Hashable)


def _group(pairs: Iterable[tuple[_Key, int]]) -> dict[_Key, tuple[int, ...]]:
    """Group indices by key, keeping their order."""
    out: dict[_Key, list[int]] = {}
    for key, index in pairs:
        out.setdefault(key, []).append(index)
    return {k: tuple(v) for k, v in out.items()}


def _build_vocab(words: Iterable[str]) -> _Vocab:
    """Index distinct normalised words for `_similar_words`."""
    unique = tuple(dict.fromkeys(w for w in words if w))
    folded = tuple(_fold(w) for w in unique)
    long = [(w, i) for i, w in enumerate(unique) if len(w) >= _MIN_FUZZY_WORD and not w.isdigit()]
    return _Vocab(
        words=unique,
        folded=folded,
        exact={w: i for i, w in enumerate(unique)},
        by_fold=_group((folded[i], i) for i, w in enumerate(unique) if not w.isdigit()),
        by_stem=_group((_stem(w), i) for w, i in long),
        by_prefix=_group((w[:4], i) for w, i in long),
        by_head_length=_group(
            ((folded[i][:1], len(folded[i])), i) for w, i in long if _allowed_edits(len(folded[i]))
        ),
    )


@lru_cache(maxsize=8192)
def _similar_words(vocab: _Vocab, word: str) -> tuple[tuple[int, float], ...]:
    """Return (vocabulary index, similarity) of the words similar to `word`, other than itself.

    Typos are only looked for among words with the same first letter (after folding) and a
    length within the allowed number of edits: fast, and first letters are rarely mistyped.
    """
    if word.isdigit() or word in STOPWORDS or len(word) < 2:
        return ()
    hits: dict[int, float] = {}

    def add(index: int, sim: float) -> None:
        if vocab.words[index] != word and sim > hits.get(index, 0.0):
            hits[index] = sim

    folded = _fold(word)
    for i in vocab.by_fold.get(folded, ()):
        add(i, _SIM_FOLD)
    if len(word) >= _MIN_FUZZY_WORD:
        for i in vocab.by_stem.get(_stem(word), ()):
            add(i, _SIM_STEM)
        for i in vocab.by_prefix.get(word[:4], ()):
            if _prefix_related(word, vocab.words[i]):
                add(i, _SIM_STEM)
        max_edits = _allowed_edits(len(folded))
        for length in range(len(folded) - max_edits, len(folded) + max_edits + 1):
            for i in vocab.by_head_length.get((folded[:1], length), ()):
                allowed = _allowed_edits(min(len(folded), length))
                distance = OSA.distance(folded, vocab.folded[i], score_cutoff=allowed)
                if 0 < distance <= allowed:
                    add(i, _SIM_TYPO[distance])
    return tuple(hits.items())


def _content_words(words: Sequence[str]) -> list[str]:
    """Drop stopwords, keeping order and the first occurrence of each word."""
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))


def _contains_phrase(haystack: str, needle: str) -> bool:
    """Tell whether `needle` occurs in `haystack` on word boundaries (both normalised)."""
    return f" {needle} " in f" {haystack} "


def _find_at_word_start(label: str, needle: str) -> bool | None:
    """Find `needle` at a word start in `label`: True if it also ends a word, False if it only
    begins one ("consulta" in "consultas"), None if absent."""
    start = label.find(needle)
    prefix_only = False
    while start >= 0:
        if start == 0 or label[start - 1] == " ":
            end = start + len(needle)
            if end == len(label) or label[end] == " ":
                return True
            prefix_only = True
        start = label.find(needle, start + 1)
    return False if prefix_only else None


# --- options ---------------------------------------------------------------------------------

MatchHow = Literal["payload", "number", "ordinal", "exact", "contains", "fuzzy", "none"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered to the citizen: its payload and its labels/synonyms in any language."""

    payload: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What `match_option` understood: a payload, or ambiguous candidates, or nothing."""

    payload: str | None
    ambiguous: tuple[str, ...] = ()
    how: MatchHow = "none"
    score: float = 0.0

    @property
    def matched(self) -> bool:
        """Tell whether exactly one option was chosen."""
        return self.payload is not None


_NO_MATCH: Final = MatchResult(None)

ORDINALS: Final[Mapping[str, int]] = {
    # Spanish (normalised; -1 is the last option, -2 the one before it).
    **dict.fromkeys(("primero", "primera", "primer", "primerito"), 1),
    **dict.fromkeys(("segundo", "segunda"), 2),
    **dict.fromkeys(("tercero", "tercera", "tercer", "tersera", "tersero"), 3),
    **dict.fromkeys(("cuarto", "cuarta"), 4),
    **dict.fromkeys(("quinto", "quinta"), 5),
    **dict.fromkeys(("sexto", "sexta"), 6),
    **dict.fromkeys(("septimo", "septima", "setimo", "setima"), 7),
    **dict.fromkeys(("octavo", "octava"), 8),
    **dict.fromkeys(("noveno", "novena"), 9),
    **dict.fromkeys(("decimo", "decima"), 10),
    **dict.fromkeys(("ultimo", "ultima"), -1),
    **dict.fromkeys(("penultimo", "penultima"), -2),
    # English.
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
}
"""Ordinal words naming an option's position."""

NUMBER_WORDS: Final[Mapping[str, int]] = {
    # "una"/"un" are left out: "la una" is a clock time.
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
"""Cardinal words naming an option's position."""

OPTION_FILLERS: Final[frozenset[str]] = _wordset(
    """el la lo opcion option numero num nro nr n number quiero elijo escojo prefiero deseo marco
    selecciono escogo seria sera es esa ese esta este por favor porfa porfavor gracias i want
    choose pick take the please thanks pls plis"""
)
"""Words around a position that say nothing more ("el", "opción", "quiero", "please")."""

_POSITION_DIGITS: Final = re.compile(
    rf"(\d{{1,{_MAX_POSITION_DIGITS}}})(?:o|a|ro|ra|er|era|do|da|to|ta|mo|ma|vo|va|no|na|st|nd|rd|th)?"
)


def _position(words: Sequence[str], count: int) -> tuple[int, MatchHow] | None:
    """Read a 1-based position from a message made of one number or ordinal plus fillers."""
    rest = [w for w in words if w not in OPTION_FILLERS]
    if len(rest) == 2 and rest[1] == "one":  # "the second one"
        rest = rest[:1]
    if len(rest) != 1:
        return None
    word = rest[0]
    digits = _POSITION_DIGITS.fullmatch(word)
    if digits:
        return int(digits.group(1)), "number"
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word], "number"
    if word in ORDINALS:
        n = ORDINALS[word]
        return (count + 1 + n if n < 0 else n), "ordinal"
    return None


@dataclass(frozen=True, slots=True, eq=False)
class _PreparedOptions:
    """Options with normalised labels and a vocabulary of their words, cached per option list."""

    payloads: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]  # normalised, per option
    keys: tuple[frozenset[str], ...]  # squeezed labels and payloads, per option
    vocab: _Vocab
    word_options: tuple[tuple[tuple[int, int], ...], ...]  # vocab index -> (option, label) pairs


@lru_cache(maxsize=512)
def _prepare_options(options: tuple[Choice, ...]) -> _PreparedOptions:
    """Normalise the options' labels and index their words (cached per option list)."""
    labels = tuple(
        tuple(dict.fromkeys(normalise(x) for x in o.labels if x.strip())) for o in options
    )
    keys = tuple(
        frozenset(_squeeze(x) for x in (*ls, normalise(o.payload)) if x)
        for o, ls in zip(options, labels, strict=True)
    )
    label_words = tuple(
        tuple(tuple(w for w in lab.split() if w not in STOPWORDS) for lab in ls) for ls in labels
    )
    vocab = _build_vocab(w for per in label_words for ws in per for w in ws)
    pairs: list[list[tuple[int, int]]] = [[] for _ in vocab.words]
    for oi, per in enumerate(label_words):
        for li, ws in enumerate(per):
            for w in ws:
                pairs[vocab.exact[w]].append((oi, li))
    return _PreparedOptions(
        payloads=tuple(o.payload for o in options),
        labels=labels,
        keys=keys,
        vocab=vocab,
        word_options=tuple(tuple(p) for p in pairs),
    )


def _pick(scores: Mapping[int, float], payloads: Sequence[str], how: MatchHow) -> MatchResult:
    """Return the best-scored option, or the near-ties as ambiguous candidates."""
    if not scores:
        return _NO_MATCH
    best = max(scores.values())
    margin = AMBIGUITY_MARGIN if how == "fuzzy" else 1e-9
    top = sorted(i for i, s in scores.items() if s >= best - margin)
    if len(top) == 1:
        return MatchResult(payloads[top[0]], how=how, score=round(best, 3))
    ambiguous = tuple(dict.fromkeys(payloads[i] for i in top))
    return MatchResult(None, ambiguous=ambiguous, how=how, score=round(best, 3))


def match_option(
    text: str, options: Sequence[Choice], *, payload: str | None = None
) -> MatchResult:
    """Find which of `options` the citizen chose, by payload, position, label or fuzzy label."""
    if not options:
        return _NO_MATCH
    payloads = [o.payload for o in options]
    if payload is not None and payload in payloads:
        return MatchResult(payload, how="payload", score=1.0)

    norm = normalise(text[:MAX_TEXT_CHARS])
    if not norm:
        return _NO_MATCH
    words = norm.split()

    position = _position(words, len(options))
    if position is not None and 1 <= position[0] <= len(options):
        return MatchResult(payloads[position[0] - 1], how=position[1], score=1.0)

    try:
        prepared = _prepare_options(tuple(options))
    except TypeError:  # labels given as a list: unhashable, so not cached
        prepared = _prepare_options.__wrapped__(tuple(options))
    key = _squeeze(norm)
    exact = {i: 1.0 for i, keys in enumerate(prepared.keys) if key in keys}
    if exact:
        return _pick(exact, payloads, "exact")

    # Containment: a whole label said inside the text beats the text found inside a label.
    content = _content_words(words)
    needle = " ".join(content)
    whole_words_only = not content  # only stopwords ("sí", "no"): match them as whole words
    if whole_words_only:
        needle = norm
    contained: dict[int, float] = {}
    for i, labels in enumerate(prepared.labels):
        for label in labels:
            if len(label) >= _MIN_LABEL_IN_TEXT and _contains_phrase(norm, label):
                score = 2.0 + len(label) / 1000
            elif len(needle) >= 2 and not needle.isdigit():
                found = _find_at_word_start(label, needle)
                if not found and (whole_words_only or found is None or len(needle) < 4):
                    continue
                score = 1.0  # whole word or a word's beginning ("consulta" in "consultas")
            else:
                continue
            contained[i] = max(contained.get(i, 0.0), score)
    if contained:
        return _pick(contained, payloads, "contains")

    # Fuzzy, word by word: sum of each content word's best similarity, per label.
    per_label: dict[tuple[int, int], dict[str, float]] = {}
    for word in content[:_MAX_FUZZY_WORDS]:
        hits = dict(_similar_words(prepared.vocab, word))
        exact_index = prepared.vocab.exact.get(word)
        if exact_index is not None:
            hits[exact_index] = 1.0
        for vi, sim in hits.items():
            for pair in prepared.word_options[vi]:
                best = per_label.setdefault(pair, {})
                if sim > best.get(word, 0.0):
                    best[word] = sim
    scores: dict[int, float] = {}
    for (oi, _), sims in per_label.items():
        scores[oi] = max(scores.get(oi, 0.0), sum(sims.values()))
    return _pick(scores, payloads, "fuzzy")


# --- yes / no ----------------------------------------------------------------------------------

YES_PHRASES: Final[tuple[str, ...]] = (
    # Spanish (Peru): the leading phrase of a reply is enough ("sí, por favor").
    "sí", "si", "sip", "sí sí", "ya", "ya pe", "yap", "ok", "oka", "okey", "okay", "oki", "dale",
    "claro", "claro que sí", "por supuesto", "obvio", "correcto", "es correcto", "está bien",
    "esta bien", "ta bien", "de acuerdo", "deacuerdo", "confirmo", "confirmado", "confirmar",
    "afirmativo", "exacto", "así es", "eso es", "bueno", "vale", "listo", "perfecto", "acepto",
    "seguro", "no hay problema", "sin problema",
    # English.
    "yes", "yeah", "yep", "yup", "sure", "of course", "correct", "that's right",
    "yes please",
    # Quechua: Arí (glibc yesstr, MediaWiki htmlform-yes), Arí niy / Chaskiy (OK, accept),
    # Takyachiy (confirm, MediaWiki).
    "arí", "ari", "arí niy", "chaskiy", "takyachiy",
)  # fmt: skip
"""Replies that mean yes (any language is accepted whatever the conversation's language)."""

NO_PHRASES: Final[tuple[str, ...]] = (
    # Spanish (Peru).
    "no", "nop", "nel", "nones", "no gracias", "negativo", "todavía no", "aún no", "aun no",
    "ahora no", "mejor no", "ya no", "para nada", "de ninguna manera", "tampoco", "nunca",
    "incorrecto", "no es correcto", "no confirmo", "no quiero", "claro que no",
    "por supuesto que no",
    # English.
    "nope", "nah", "no thanks", "not yet", "not now", "no way",
    # Quechua: Manan (glibc nostr, Cusco), Mana (MediaWiki htmlform-no), Manam (Common Voice
    # quy), Ama chaskiychu (decline, Sugar), Ama kunanqa (not now, Firefox quy). AbiWord's
    # "Ama" for No (⚠, it means "don't") is left out: it opens "Ama hina kaspa" (please) and
    # "Ama niy" (cancel).
    "manan", "mana", "manam", "ama chaskiychu", "ama kunanqa",
)  # fmt: skip
"""Replies that mean no."""

UNSURE_PHRASES: Final[tuple[str, ...]] = (
    "no sé", "nose", "no lo sé", "no estoy seguro", "no estoy segura", "no sabría", "tal vez",
    "talvez", "quizás", "quizá", "a lo mejor", "puede ser", "depende", "más o menos",
    "no entiendo", "maybe", "not sure", "i don't know", "dont know", "idk", "perhaps",
)  # fmt: skip
"""Replies that start like an answer but say the citizen does not know ("no sé")."""

YES_EMOJI: Final = frozenset("👍👌✅✔☑🆗")
NO_EMOJI: Final = frozenset("👎❌✖❎🚫🙅⛔")

SINGLE_LETTER_ANSWERS: Final[Mapping[str, Mapping[str, bool]]] = {
    # One-letter replies mean something only in some languages (glibc yesexpr/noexpr):
    # "y" is "and" in Spanish, "s" is nothing in English.
    "y": {"en": True, "qu": True},
    "s": {"es": True, "qu": True},
    "n": {"es": False, "en": False, "qu": False},
}
"""One-letter replies, by language code: the tie-breaker `lang` of `yes_no` is used here."""

_POLARITY: Final[Mapping[str, bool | None]] = {
    **{_norm_key(p): None for p in UNSURE_PHRASES},
    **{_norm_key(p): True for p in YES_PHRASES},
    **{_norm_key(p): False for p in NO_PHRASES},
}
_UNSURE_KEYS: Final = frozenset(_norm_key(p) for p in UNSURE_PHRASES)
_BARE_ANSWERS: Final[frozenset[str]] = frozenset(
    w for w, v in _POLARITY.items() if v is not None and " " not in w
)
_MAX_LEAD_WORDS: Final = 4
_CLAUSE_BREAK: Final = re.compile(r"[,.;:!?¡¿\n]+")
CLAUSE_WORDS: Final[frozenset[str]] = frozenset(("pero", "aunque", "sino", "but", "although"))
"""Words that start a new clause, like a comma: "sí pero no el lunes" has two answers."""
INTERJECTIONS: Final[frozenset[str]] = _wordset(
    """hola buenas buenos dias tardes noches mm mmm m eh ehh ah ahh pues mira oye senorita senor
    joven doctor doctora gracias hi hello well"""
)
"""Words skipped before the answer ("hola, sí", "mmm no")."""
POLITENESS: Final[tuple[str, ...]] = ("por favor", "porfa", "please", "ama hina kaspa")
"""Phrases skipped at the start of every clause ("arí, ama hina kaspa")."""
_POLITENESS_WORDS: Final = tuple(tuple(normalise(p).split()) for p in POLITENESS)
_EMOJI_CONTEXT_WORDS: Final = 3


def _emoji_polarity(text: str) -> bool | None:
    """Return True/False when the message's emoji all say yes/no, else None."""
    yes = no = False
    for ch in text:
        if ch in YES_EMOJI:
            yes = True
        elif ch in NO_EMOJI:
            no = True
    return yes if yes != no else None


def _clauses(text: str) -> list[list[str]]:
    """Split a message into clauses of squeezed normalised words (at punctuation, "pero")."""
    out: list[list[str]] = []
    for piece in _CLAUSE_BREAK.split(text):
        current: list[str] = []
        for word in _squeeze(normalise(piece)).split():
            if word in CLAUSE_WORDS:
                if current:
                    out.append(current)
                current = []
            else:
                current.append(word)
        if current:
            out.append(current)
    return out


def _lead_answer(words: Sequence[str]) -> tuple[int, bool | None] | None:
    """Return (size, polarity) of the longest answer phrase opening `words`; None if none."""
    for size in range(min(_MAX_LEAD_WORDS, len(words)), 0, -1):
        phrase = " ".join(words[:size])
        if phrase in _POLARITY:
            return size, _POLARITY[phrase]
    return None


def _skip_politeness(words: Sequence[str], interjections: bool) -> Sequence[str]:
    """Drop politeness phrases (and, if asked, interjections) from the start of the words."""
    changed = True
    while words and changed:
        changed = False
        if interjections and words[0] in INTERJECTIONS:
            words, changed = words[1:], True
        for phrase in _POLITENESS_WORDS:
            if tuple(words[: len(phrase)]) == phrase:
                words, changed = words[len(phrase) :], True
    return words


def _has_unsure(words: Sequence[str]) -> bool:
    """Tell whether an "I don't know" phrase occurs anywhere in the words."""
    return any(
        " ".join(words[i : i + n]) in _UNSURE_KEYS
        for i in range(len(words))
        for n in range(1, _MAX_LEAD_WORDS + 1)
    )


def yes_no(text: str, lang: str = "es", *, emoji: bool = True) -> bool | None:
    """Read a yes/no reply in Spanish, English or Quechua; None when it is unclear.

    With `emoji` False an emoji alone answers nothing (a clear yes needs words).
    """
    text = text[:MAX_TEXT_CHARS]
    clauses = _clauses(text)
    words = [w for clause in clauses for w in clause]
    if len(words) == 1 and words[0] in SINGLE_LETTER_ANSWERS:
        code = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
        return SINGLE_LETTER_ANSWERS[words[0]].get(code)
    if _has_unsure(words):
        return None
    answers: list[bool | None] = []
    for words_of_clause in clauses:
        clause = _skip_politeness(words_of_clause, interjections=not answers)
        if not clause:
            continue
        lead = _lead_answer(clause)
        if lead is None:
            if not answers:
                return None  # the reply does not open with an answer ("quiero saber si...")
            continue
        answers.append(lead[1])
        rest = _skip_politeness(clause[lead[0] :], interjections=False)
        follow = _lead_answer(rest)  # "si no": a second answer right after the first
        if follow is not None and (follow[0] > 1 or rest[0] in _BARE_ANSWERS):
            answers.append(follow[1])
    said_by_emoji = _emoji_polarity(text)
    if answers:
        first = answers[0]
        if any(a != first for a in answers) or (
            said_by_emoji is not None and said_by_emoji != first
        ):
            return None  # "sí, no", "sí pero no el lunes", "no 👍"
        return first
    if not emoji or said_by_emoji is None or len(words) > _EMOJI_CONTEXT_WORDS:
        return None
    return said_by_emoji


# --- global commands --------------------------------------------------------------------------

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
    _norm_key(phrase): command for command, phrases in GLOBAL_COMMANDS.items() for phrase in phrases
}
_LEADING_FILLERS: Final = tuple(
    sorted((_norm_key(f).split() for f in COMMAND_FILLERS[0]), key=len, reverse=True)
)
_TRAILING_FILLERS: Final = tuple(
    sorted((_norm_key(f).split() for f in COMMAND_FILLERS[1]), key=len, reverse=True)
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
    words = _strip_fillers(_squeeze(normalise(text)).split())
    if not words or len(words) > MAX_COMMAND_WORDS:
        return None
    return _COMMAND_KEYS.get(" ".join(words))


# --- service search ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """A service as search sees it: its code, names (any language) and keywords."""

    code: str
    names: tuple[str, ...]
    keywords: tuple[str, ...] = field(default=())


_W_KEYWORD: Final = 1.0
_W_NAME_WORDS: Final = 1.6  # shared by the content words of one name, at most _W_NAME_WORD each
_W_NAME_WORD: Final = 0.8
_W_ACRONYM: Final = 1.0
_W_FUZZY_KEYWORD: Final = 0.8  # times the similarity
_W_FUZZY_NAME: Final = 0.8  # times the name word's weight and the similarity
_W_WHOLE_NAME: Final = 1.5
RELATIVE_FLOOR: Final = 0.5
"""Services scoring under this fraction of the best one are left out of the results."""
_ACRONYM: Final = re.compile(r"\b[A-ZÑ]{2,}\b")


@dataclass(frozen=True, slots=True, eq=False)
class _ServiceIndex:
    """Catalogue words -> services, cached per catalogue."""

    codes: tuple[str, ...]
    vocab: _Vocab
    # vocab index -> ((service, weight when exact, is top tier, weight when fuzzy), ...)
    postings: tuple[tuple[tuple[int, float, bool, float], ...], ...]
    phrases: tuple[tuple[str, int, float], ...]  # whole names, multi-word keywords: weight


@lru_cache(maxsize=16)
def _index_services(services: tuple[ServiceEntry, ...]) -> _ServiceIndex:
    """Index a catalogue's keywords, name words, acronyms and whole names (cached)."""
    entries: dict[str, dict[int, tuple[float, bool, float]]] = {}
    phrases: list[tuple[str, int, float]] = []

    def post(word: str, svc: int, exact: float, top: bool, fuzzy: float) -> None:
        current = entries.setdefault(word, {}).get(svc)
        if current is None or (exact, top, fuzzy) > current:
            entries[word][svc] = (exact, top, fuzzy)

    for svc, entry in enumerate(services):
        for keyword in entry.keywords:
            kw = normalise(keyword)
            if " " in kw:
                phrases.append((kw, svc, _W_KEYWORD))
            elif kw:
                post(kw, svc, _W_KEYWORD, True, _W_FUZZY_KEYWORD)
        for name in entry.names:
            acronyms = {normalise(a) for a in _ACRONYM.findall(name)}
            norm = normalise(name)
            if len(norm) >= _MIN_LABEL_IN_TEXT:
                phrases.append((norm, svc, _W_WHOLE_NAME))
            words = [w for w in dict.fromkeys(norm.split()) if w not in acronyms]
            content = [w for w in words if w not in STOPWORDS and len(w) >= _MIN_STEM]
            weight = min(_W_NAME_WORD, _W_NAME_WORDS / max(1, len(content)))
            for word in acronyms:
                post(word, svc, _W_ACRONYM, True, 0.0)
            for word in content:
                post(word, svc, weight, False, weight * _W_FUZZY_NAME)
    vocab = _build_vocab(entries)
    postings = tuple(
        tuple((svc, e, top, f) for svc, (e, top, f) in entries[w].items()) for w in vocab.words
    )
    return _ServiceIndex(
        codes=tuple(s.code for s in services),
        vocab=vocab,
        postings=postings,
        phrases=tuple(phrases),
    )


def search_services(
    text: str, services: Sequence[ServiceEntry], *, limit: int = MAX_SERVICE_RESULTS
) -> list[str]:
    """Rank service codes whose keywords or names match the text's words; best first."""
    norm = normalise(text[:MAX_TEXT_CHARS])
    if not norm or not services:
        return []
    try:
        index = _index_services(tuple(services))
    except TypeError:  # names or keywords given as lists: unhashable, so not cached
        index = _index_services.__wrapped__(tuple(services))
    scores: dict[int, float] = {}
    specific: dict[int, float] = {}  # the same, each word's share divided by its service count
    top_tier: set[int] = set()
    for phrase, svc, weight in index.phrases:
        if _contains_phrase(norm, phrase):
            scores[svc] = scores.get(svc, 0.0) + weight
            specific[svc] = specific.get(svc, 0.0) + weight
            top_tier.add(svc)
    for word in dict.fromkeys(norm.split()):
        best: dict[int, float] = {}  # one contribution per (word, service)
        exact_index = index.vocab.exact.get(word)
        if exact_index is not None:
            for svc, weight, top, _ in index.postings[exact_index]:
                best[svc] = max(best.get(svc, 0.0), weight)
                if top:
                    top_tier.add(svc)
        for vi, sim in _similar_words(index.vocab, word):
            for svc, _, _, weight in index.postings[vi]:
                if weight:
                    best[svc] = max(best.get(svc, 0.0), weight * sim)
        for svc, value in best.items():
            scores[svc] = scores.get(svc, 0.0) + value
            specific[svc] = specific.get(svc, 0.0) + value / len(best)
    if not scores:
        return []
    floor = RELATIVE_FLOOR * max(scores.values())
    ranked = sorted(
        (svc for svc, score in scores.items() if score >= floor),
        key=lambda svc: (svc not in top_tier, -round(scores[svc], 6), -specific[svc], svc),
    )
    return [index.codes[svc] for svc in ranked[:limit]]
