"""Measure bot/understanding/needs.py on its corpus: size, accuracy, latency, load time.

Run: .venv/bin/python bench/bench_needs.py [repeats]
Prints the corpus size per label and language; top-1/top-3 accuracy and the confident / unsure /
nothing verdicts of a model fitted on the train split and asked the held-out test split; the
latency of `bot.understanding.needs.classify` (model on the whole corpus, as shipped) over every
corpus text, `repeats` times, as mean/p95/p99 microseconds, and of one message as long as is
read (`MAX_CHARS`); and the load time, measured in fresh subprocesses (Python start, `import
bot.understanding.needs`, reading the corpus and building the index), with the bare interpreter
start alongside so the difference can be read.
"""

import datetime
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bot.understanding import needs

ROOT = Path(__file__).resolve().parents[1]
LOAD = (
    "import time; t = time.perf_counter(); c = time.process_time(); "
    "import bot.understanding.needs as n; "
    "n.model(); print(time.perf_counter() - t, time.process_time() - c)"
)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    corpus = needs.load_corpus()
    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}")
    print(f"# CPU {cpu_model()}; python {sys.version.split()[0]}")

    counts = Counter((e.label, e.lang) for e in corpus)
    labels = list(dict.fromkeys(e.label for e in corpus))
    print(f"\ncorpus: {len(corpus)} rows, {len(labels)} labels")
    print(f"{'label':40} {'es':>4} {'en':>4} {'qu':>4} {'test':>5}")
    for label in labels:
        held = sum(e.split == "test" for e in corpus if e.label == label)
        row = " ".join(f"{counts[(label, lang)]:4}" for lang in ("es", "en", "qu"))
        print(f"{label:40} {row} {held:5}")
    by_lang = Counter(e.lang for e in corpus)
    print("total per language:", dict(by_lang))

    model = needs.NeedsModel([e for e in corpus if e.split == "train"])
    test = [e for e in corpus if e.split == "test"]
    top1 = top3 = 0
    verdicts: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for example in test:
        ranking = model.classify(example.text)
        ranked = [label for label, _ in ranking[:3]]
        top1 += ranked[0] == example.label
        top3 += example.label in ranked
        understood = needs.decide(ranking)
        verdicts[understood.verdict] += 1
        right[understood.verdict] += example.label in understood.labels
    print(
        f"\nheld-out: {len(test)} rows; top-1 {top1 / len(test):.1%}, top-3 {top3 / len(test):.1%}"
    )
    for verdict in ("confident", "unsure", "nothing"):
        n = verdicts[verdict]
        share = f"{right[verdict] / n:.1%}" if n else "-"
        print(f"  {verdict:9} {n:4} ({n / len(test):.1%}), right label among those given: {share}")
    gibberish = ["asdfgh", "qwerty", "jajaja", "xd", "kkkk", "zzz", "123", "😎", "...", "ñññ"]
    worst = max(needs.classify(t)[0][1] for t in gibberish)
    print(f"  best probability given to gibberish: {worst:.3f} (nothing below {needs.UNSURE})")
    for lang in ("es", "en", "qu"):
        rows = [e for e in test if e.lang == lang]
        hits = sum(model.classify(e.text)[0][0] == e.label for e in rows)
        print(f"  top-1 {lang}: {hits}/{len(rows)}")

    needs.model()
    texts = [e.text for e in corpus]
    timings: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        for text in texts:
            start, start_cpu = time.perf_counter(), time.thread_time()
            needs.classify(text)
            cpu.append((time.thread_time() - start_cpu) * 1e6)
            timings.append((time.perf_counter() - start) * 1e6)
    # The longest message read: the corpus's three longest stories joined, cut at MAX_CHARS.
    stories = sorted(texts, key=len, reverse=True)[:3]
    longest = (" ".join(stories) * 5)[: needs.MAX_CHARS]
    long_cpu: list[float] = []
    for _ in range(repeats * 20):
        start_cpu = time.thread_time()
        needs.classify(longest)
        long_cpu.append((time.thread_time() - start_cpu) * 1e6)
    print()
    for name, values in (("wall", timings), ("CPU (thread time)", cpu)):
        print(
            f"classify {name}, {len(values)} calls: mean {statistics.mean(values):.0f} us, "
            f"p95 {percentile(values, 0.95):.0f} us, p99 {percentile(values, 0.99):.0f} us, "
            f"max {max(values):.0f} us"
        )

    print(
        f"classify CPU, a {len(longest)}-character message (the most read), {len(long_cpu)} calls: "
        f"median {statistics.median(long_cpu):.0f} us, p95 {percentile(long_cpu, 0.95):.0f} us, "
        f"max {max(long_cpu):.0f} us"
    )

    python = sys.executable
    bare = [wall([python, "-c", "pass"]) for _ in range(5)]
    full = [wall([python, "-c", LOAD]) for _ in range(5)]
    inner = [
        [float(x) for x in subprocess.run([python, "-c", LOAD], check=True, cwd=ROOT,
                                          capture_output=True, text=True).stdout.split()]
        for _ in range(5)
    ]  # fmt: skip
    print(
        f"load, fresh subprocess (median of 5): interpreter {statistics.median(bare) * 1e3:.0f}"
        f" ms; interpreter + import + fit {statistics.median(full) * 1e3:.0f} ms; "
        f"import + fit measured inside {statistics.median(w for w, _ in inner) * 1e3:.0f} ms wall, "
        f"{statistics.median(c for _, c in inner) * 1e3:.0f} ms CPU"
    )


if __name__ == "__main__":
    main()
