"""Time match_option over 10 options and search_services over the real catalogue.

Run: .venv/bin/python bench/bench_understand.py [repeats]
Prints mean, p50 and p95 microseconds per call. The option list and the catalogue are built
once, as in a running server, so their per-list indexes are cached. "warm" lets the word-level
caches (similar words, spelling folds, stems) work, as for the common words citizens repeat;
"cold" empties them before every call, so every word is looked up afresh.
"""

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.understanding import (
    Choice,
    ServiceEntry,
    global_command,
    match_option,
    search_services,
    words,
    yes_no,
)

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "core" / "data" / "services.yaml"

OPTION_TEXTS = [
    "2", "el 3", "opción 4", "la segunda", "la última", "Consultas laborales",
    "quiero conciliacion", "conciliasion", "liquidasion", "patrosinio judicial", "hola",
    "12345678", "xyz", "quiero hablar sobre mi despido porque no me pagaron nada", "sindicato",
    "consulta laboral", "negociasion colectiva", "el registro del hogar por favor",
]  # fmt: skip
SEARCH_TEXTS = [
    "me despidieron", "despido", "CTS", "gratificación",
    "mi empleador no me paga la gratificacion", "busco trabajo", "quiero un curso",
    "certificado unico laboral", "hola", "tengo una duda sobre mi contrato",
    "mi jefe no me pagó las vacaciones y me despidió sin aviso, qué puedo hacer?",
    "inspeccion sunafil", "sindicato", "abogao",
]  # fmt: skip
YES_NO_TEXTS = ["sí", "no", "ya pe", "sí, por favor", "no sé", "arí", "👍", "claro que no"]
COMMAND_TEXTS = ["menú", "atrás", "Yanapa", "quiero cancelar mi cita del lunes", "hola", "salir"]


def load_catalogue() -> list[ServiceEntry]:
    data = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    return [
        ServiceEntry(s["code"], tuple(s["names"].values()), tuple(s["keywords"]))
        for s in data["services"]
    ]


def clear_word_caches() -> None:
    words.similar_words.cache_clear()
    words.fold.cache_clear()
    words.stem.cache_clear()


def measure(
    call: Callable[[str], object], texts: list[str], repeats: int, cold: bool = False
) -> list[float]:
    for text in texts:  # warm-up: imports, regex and per-list caches
        call(text)
    samples: list[float] = []
    for _ in range(repeats):
        for text in texts:
            if cold:
                clear_word_caches()
            start = time.perf_counter_ns()
            call(text)
            samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def report(label: str, samples: list[float]) -> None:
    p95 = statistics.quantiles(samples, n=100)[94]
    print(
        f"{label:<44} calls={len(samples):>6}  mean={statistics.fmean(samples):7.1f} us  "
        f"p50={statistics.median(samples):7.1f} us  p95={p95:7.1f} us  max={max(samples):8.1f} us"
    )


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    services = load_catalogue()
    options = [Choice(s.code, s.names) for s in services[:10]]
    print(f"Python {sys.version.split()[0]}, {len(services)} services, {repeats} repeats")
    for cold in (False, True):
        state = "cold" if cold else "warm"
        report(
            f"match_option, 10 options x 3 labels, {state}",
            measure(lambda t: match_option(t, options), OPTION_TEXTS, repeats, cold),
        )
        report(
            f"search_services, {len(services)} services, {state}",
            measure(lambda t: search_services(t, services), SEARCH_TEXTS, repeats, cold),
        )
    report("yes_no", measure(yes_no, YES_NO_TEXTS, repeats))
    report("global_command", measure(global_command, COMMAND_TEXTS, repeats))


if __name__ == "__main__":
    main()
