"""Understanding needs from the labelled corpus (bot/understanding/needs.py, its needs.tsv)."""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bot.understanding import needs, normalise

ROOT = Path(__file__).resolve().parents[2]

# The issue asks for 92% / 98%. The model measures 92.0% / 98.6% on the held-out split (see
# docs/benchmarks.md): these floors, a little under, guard against regressions.
TOP1_FLOOR = 0.915
TOP3_FLOOR = 0.98

# The held-out rows (text, label, language, in file order) as they were when the split was
# fixed: rows added later are train rows, so the held-out split never moves.
TEST_ROWS = 425
TEST_ROWS_SHA256 = "8a871ec5d6f1720bdf4f513a2d9992af4dbfa60f2e27c048f03b5680efc6aa7f"


def _services() -> list[str]:
    data = yaml.safe_load((ROOT / "core/data/services.yaml").read_text(encoding="utf-8"))
    return [s["code"] for s in data["services"] if s["kind"] == "appointment"]


@pytest.fixture(scope="module")
def corpus() -> tuple[needs.Example, ...]:
    return needs.load_corpus()


@pytest.fixture(scope="module")
def held_out_model(corpus: tuple[needs.Example, ...]) -> needs.NeedsModel:
    return needs.NeedsModel([e for e in corpus if e.split == "train"])


def test_corpus_covers_every_bookable_service_and_intent(corpus: tuple[needs.Example, ...]) -> None:
    services = _services()
    assert len(services) == 21
    expected = set(services) | set(needs.INTENTS)
    assert {e.label for e in corpus} == expected
    counts = Counter((e.label, e.lang) for e in corpus)
    for label in expected:
        assert counts[(label, "es")] >= 30, label
        assert counts[(label, "en")] >= 5, label
    assert {e.lang for e in corpus} == {"es", "en", "qu"}


def test_corpus_rows_are_distinct_and_a_tenth_to_a_quarter_held_out(
    corpus: tuple[needs.Example, ...],
) -> None:
    texts = Counter(normalise(e.text) for e in corpus)
    assert [t for t, n in texts.items() if n > 1] == []
    for label in {e.label for e in corpus}:
        rows = [e for e in corpus if e.label == label]
        held = sum(e.split == "test" for e in rows)
        # A fifth when the split was fixed; less since, as train rows were added after it.
        assert 0.1 <= held / len(rows) <= 0.25, label


def test_held_out_rows_are_the_ones_fixed_at_first(corpus: tuple[needs.Example, ...]) -> None:
    test = [e for e in corpus if e.split == "test"]
    digest = hashlib.sha256("\n".join(f"{e.text}\t{e.label}\t{e.lang}" for e in test).encode())
    assert len(test) == TEST_ROWS
    assert digest.hexdigest() == TEST_ROWS_SHA256


def test_split_rule_holds_until_the_first_added_row(corpus: tuple[needs.Example, ...]) -> None:
    # In each label and language, every fifth row from the third is test; the rows appended
    # after the last test row of their group (all after the split was fixed) are train.
    groups: dict[tuple[str, str], list[str]] = {}
    for example in corpus:
        groups.setdefault((example.label, example.lang), []).append(example.split)
    for key, splits in groups.items():
        last = max((i for i, s in enumerate(splits) if s == "test"), default=-1)
        assert splits[: last + 1] == ["test" if i % 5 == 2 else "train" for i in range(last + 1)]
        assert len(splits) - last - 1 >= 0 and "test" not in splits[last + 1 :], key


def test_quechua_rows_use_only_attested_words(corpus: tuple[needs.Example, ...]) -> None:
    glossary = set(normalise((ROOT / "tests/fixtures/QUECHUA.md").read_text("utf-8")).split())
    loanwords = {"cita"}
    for example in corpus:
        if example.lang == "qu":
            unknown = set(normalise(example.text).split()) - glossary - loanwords
            assert unknown == set(), example.text


def test_held_out_accuracy(
    corpus: tuple[needs.Example, ...], held_out_model: needs.NeedsModel
) -> None:
    test = [e for e in corpus if e.split == "test"]
    assert len(test) >= 200
    top1 = top3 = 0
    for example in test:
        ranked = [label for label, _ in held_out_model.classify(example.text)[:3]]
        top1 += ranked[0] == example.label
        top3 += example.label in ranked
    assert top1 / len(test) >= TOP1_FLOOR
    assert top3 / len(test) >= TOP3_FLOOR


def test_confident_answers_are_mostly_right_on_held_out(
    corpus: tuple[needs.Example, ...], held_out_model: needs.NeedsModel
) -> None:
    verdicts = [
        (needs.decide(held_out_model.classify(e.text)), e.label)
        for e in corpus
        if e.split == "test"
    ]
    confident = [(u, label) for u, label in verdicts if u.verdict == "confident"]
    assert len(confident) >= len(verdicts) / 2
    assert sum(u.labels == (label,) for u, label in confident) / len(confident) >= 0.9
    assert sum(u.verdict == "nothing" for u, _ in verdicts) <= len(verdicts) * 0.03


def test_two_fits_rank_identically(corpus: tuple[needs.Example, ...]) -> None:
    first = needs.NeedsModel(corpus)
    second = needs.NeedsModel(list(corpus))
    for example in corpus[::7]:
        assert first.classify(example.text) == second.classify(example.text)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("conciliacion", "conciliacion-administrativa"),
        ("liquidacion", "liquidacion-beneficios-sociales"),
        ("quiero demandar a mi empresa necesito un abogado gratis", "patrocinio-judicial-gratuito"),
        ("el certificado unico laboral", "certificado-unico-laboral"),
        ("hola", "greeting"),
        ("borrar mis datos", "delete_data"),
        ("quiero hablar con una persona", "human"),
        ("Conciliasión con la empresa!!", "conciliacion-administrativa"),
        ("me deben la grati y la cts, cuanto me toca??", "liquidacion-beneficios-sociales"),
        ("yanapay", "help"),
        ("Añaychayki", "thanks"),
    ],
)
def test_issue_examples_are_understood_confidently(text: str, label: str) -> None:
    assert needs.classify(text)[0][0] == label
    assert needs.understand(text) == needs.Understanding("confident", (label,))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("i want to take my old boss to court", "patrocinio-judicial-gratuito"),
        ("mi jefe no me paga hace dos meses", "consultas-laborales"),
        ("quisiera cambiar la hora de mi sita", "reschedule"),
    ],
)
def test_other_phrasings_are_at_least_offered(text: str, label: str) -> None:
    understood = needs.understand(text)
    assert understood.verdict != "nothing"
    assert label in understood.labels


def test_long_dismissal_story_is_legal_help_not_job_placement() -> None:
    story = (
        "buenas tardes señorita, le cuento, trabaje 4 años en una fabrica de plasticos en ate, "
        "el mes pasado mi jefe me dijo que ya no vaya, no me dio carta ni nada. no me pagaron la "
        "cts ni las vacaciones y cuando reclame me dijeron que haga lo que quiera. quiero "
        "demandarlos pero no tengo plata para un abogado"
    )
    ranking = needs.classify(story)
    assert ranking[0][0] in {"patrocinio-judicial-gratuito", "consultas-laborales"}
    assert "bolsa-de-trabajo" not in [label for label, _ in ranking[:3]]


@pytest.mark.parametrize("text", ["asdfgh", "😎", "", "   ", "12345678", "qwerty zxcvb"])
def test_nonsense_is_nothing(text: str) -> None:
    understood = needs.understand(text)
    assert understood.verdict == "nothing"
    assert understood.labels == ()


def test_place_names_are_read_from_the_catalogue_data() -> None:
    from core.catalog import DATA

    assert all(path.parent == DATA and path.is_file() for path in needs.PLACE_FILES)


@pytest.mark.parametrize(
    "text", ["arequipa", "no, en cusco", "Lucia Quispe", "huancayo", "soy de trujillo", "lima lima"]
)
def test_a_place_or_a_name_alone_is_not_a_need(text: str) -> None:
    assert needs.understand(text).verdict != "confident"


@pytest.mark.parametrize(
    ("text", "place", "label"),
    [
        ("busco chamba en arequipa", " en arequipa", "bolsa-de-trabajo"),
        ("quiero una cita en cusco", " en cusco", "book"),
        ("me botaron en la libertad, me deben la cts", " en la libertad", None),
    ],
)
def test_a_place_beside_a_need_changes_nothing(text: str, place: str, label: str | None) -> None:
    assert needs.classify(text) == needs.classify(text.replace(place, " en"))
    if label is not None:
        assert needs.understand(text) == needs.Understanding("confident", (label,))


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        ("certificado", {"certificado-unico-laboral", "certificacion-competencias-laborales"}),
        ("registro", {"registro-contrato-trabajo-hogar", "registro-organizaciones-sindicales"}),
    ],
)
def test_a_word_several_needs_share_offers_two_or_three(text: str, offered: set[str]) -> None:
    understood = needs.understand(text)
    assert understood.verdict == "unsure"
    assert 2 <= len(understood.labels) <= 3
    assert offered <= set(understood.labels)


def test_my_appointment_alone_shows_my_appointments_and_ranks_cancel_and_reschedule_next() -> None:
    # «mi cita» leads to the citizen's appointments, from which cancelling or rescheduling is
    # one step; the two are next in the ranking.
    ranking = [label for label, _ in needs.classify("mi cita")[:3]]
    assert ranking[0] == "my_appointments"
    assert set(ranking) == {"my_appointments", "cancel", "reschedule"}


def test_scores_are_probabilities_ranked_best_first() -> None:
    ranking = needs.classify("me botaron de la chamba y no me pagan la liqui")
    scores = [p for _, p in ranking]
    assert all(0.0 <= p <= 1.0 for p in scores)
    assert sum(scores) <= 1.0 + 1e-9
    assert scores == sorted(scores, reverse=True)
    assert len(ranking) == 21 + len(needs.INTENTS)


@pytest.mark.parametrize(
    "row",
    [
        "hola\tgreeting\tes",
        "hola\tgreeting\tfr\ttrain",
        " \tgreeting\tes\ttest",
        "hola\tgreeting\tes\tdev",
    ],
)
def test_malformed_corpus_is_refused_with_its_line(tmp_path: Path, row: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(
        f"# comment\ntext\tlabel\tlang\tsplit\nbuenas\tgreeting\tes\ttrain\n{row}\n", "utf-8"
    )
    with pytest.raises(ValueError, match="line 4"):
        needs.load_corpus(path)


def test_corpus_without_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("# only a comment\nhola\tgreeting\tes\ttrain\n", "utf-8")
    with pytest.raises(ValueError, match="header"):
        needs.load_corpus(path)


def test_threads_classifying_at_once_agree_with_one_thread(
    corpus: tuple[needs.Example, ...],
) -> None:
    texts = [e.text for e in corpus[::5]]
    model = needs.NeedsModel(corpus)
    expected = [model.classify(t)[0] for t in texts]
    needs._word_terms.cache_clear()  # make the threads stem afresh, at the same time
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: model.classify(t)[0], texts))
    assert got == expected
