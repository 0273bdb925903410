"""Where a set's misses and non-strong true matches come from (DEV sets only: tune on what this shows).

    PYTHONHASHSEED=0 .venv/bin/python -m bench.misses --set dev2 [--show 15]

Each query whose man is in the registry falls into one category: not blocked at all (neither pass
reaches his reading), blocked but ranked below five, in the top five but not first, first but not
strong, first and strong. Readings are told apart by their damage as the text shows it (unreadable
letters, a lost start, a Latin or Kazakh query...), since the generator does not record its kind.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

from bench.noise import DEV2_SEED, DEV_SEED, make_benchmark
from bot.search import Registry
from bot.search.types import Query, Record


def damage(query: Query, reading: Record) -> str:
    """A rough kind of what stands between the query and the reading."""
    s = reading.surname or ""
    q = query.surname or ""
    if s.startswith("...") or s.endswith("..."):
        kind = "reading: lost start/end"
    elif s.count("?") >= 2:
        kind = "reading: 2+ unreadable"
    elif "?" in s:
        kind = "reading: 1 unreadable"
    elif "(" in s or "/" in s:
        kind = "reading: alternatives"
    else:
        kind = "reading: plain"
    if q.isascii():
        kind += " | query latin"
    elif any(ch in q.lower() for ch in "әғқңөұүһі"):
        kind += " | query kazakh"
    return kind


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=("dev", "dev2"), default="dev2")
    parser.add_argument("--show", type=int, default=8, help="examples to print per category")
    args = parser.parse_args(argv)
    seed = DEV2_SEED if args.set == "dev2" else DEV_SEED
    bench = make_benchmark(seed, hard=args.set == "dev2")
    registry = Registry()
    registry.add(bench.records)
    by_id = {r.reading_id: r for r in bench.records}
    outcome: Counter[str] = Counter()
    kinds: Counter[tuple[str, str]] = Counter()
    examples: dict[str, list[str]] = {}
    absent_strong = 0
    for case in bench.cases:
        if case.truth is None:
            top = registry.search(case.query, limit=1, registry_frequency=True)
            absent_strong += bool(top and top[0].strong)
            continue
        matches = registry.search(case.query, limit=50, registry_frequency=True)
        ids = [m.reading_id for m in matches]
        reading = by_id[case.truth]
        if case.truth in ids:
            rank = ids.index(case.truth) + 1
            m = matches[rank - 1]
            if rank == 1:
                what = "1 strong" if m.strong else "1 not strong"
            elif rank <= 5:
                what = "2-5"
            else:
                what = "below 5"
        else:
            blocked = {registry.reading_id(p) for p in registry.candidates(case.query)}
            what = "blocked, not shown" if case.truth in blocked else "not blocked"
            m = None
        outcome[what] += 1
        kinds[(what, damage(case.query, reading))] += 1
        if what != "1 strong":
            q = case.query
            line = (
                f"  Q {q.surname!r} {q.name!r} {q.patronymic!r} {q.birth_year}-{q.birth_year_to} "
                f"{q.birthplace!r}\n  R {reading.surname!r} {reading.name!r} {reading.patronymic!r} "
                f"{reading.birth_year!r} {reading.birthplace!r}"
            )
            if m is not None:
                line += f"\n    score {m.score} top {matches[0].score}"
            examples.setdefault(what, []).append(line)
    present = sum(outcome.values())
    print(f"{args.set}: {present} queries whose man is there; absent strong {absent_strong}")
    for what, n in outcome.most_common():
        print(f"{what:<20} {n:>5} {n / present:.3f}")
        for (w, kind), k in kinds.most_common():
            if w == what:
                print(f"    {kind:<45} {k:>5}")
    for what, lines in examples.items():
        print(f"\n== {what}")
        for line in lines[: args.show]:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
