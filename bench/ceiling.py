"""How well any engine could do on a benchmark set if the medallions had lost nothing.

    PYTHONHASHSEED=0 .venv/bin/python -m bench.ceiling --set test3

The generator knows each man as he was (bench/noise.py's `Soldier`). For a query about a man in the
registry, his *twins* are the registry's men whom the fields the relative gave cannot tell from him, read
from the truth: the same surname, and the same name, patronymic, birth year, oblast (district when the
relative named one), relative and village wherever the relative gave that field. An engine that sees the
men undamaged still has to guess among the twins, so it puts the man first 1/k of the time (k: he and his
twins) and in the top five min(1, 5/k) of the time. What a medallion lost only lowers these figures: the
gap between them and the measured recall is the damage, and the ranking's share of it.

Nothing is tuned on this: it describes the data, on any set.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence

from bench.noise import DEV2_SEED, TEST2_SEED, TEST3_SEED, Soldier, make_benchmark
from bot.search.types import Query

# The second generation's sets (the first is drawn without ``hard``).
SEEDS = {"dev2": DEV2_SEED, "test2": TEST2_SEED, "test3": TEST3_SEED}


def twin(query: Query, man: Soldier, other: Soldier) -> bool:
    """True when nothing the relative gave tells ``other`` from ``man`` (both as they were)."""
    given_and_differs = (
        (query.name is not None and other.name != man.name),
        (query.patronymic is not None and other.patronymic != man.patronymic),
        (query.birth_year is not None and other.birth_year != man.birth_year),
        (query.birthplace is not None and other.oblast != man.oblast),
        (query.birthplace is not None and "р-н" in query.birthplace and other.raion != man.raion),
        (query.relative is not None and other.relative.split()[-1] != man.relative.split()[-1]),
        (query.family_place is not None and other.village != man.village),
    )
    return other.surname == man.surname and not any(given_and_differs)


def ceiling(seed: int) -> tuple[float, float, float]:
    """(recall@1, recall@5, share of queries with a twin) on the men undamaged, over the set's queries
    about men in the registry (`bench.noise.make_benchmark` with ``hard``, as bench.quality draws it)."""
    bench = make_benchmark(seed, hard=True)
    by_surname: dict[str, list[Soldier]] = defaultdict(list)
    for soldier in bench.soldiers:
        by_surname[soldier.surname].append(soldier)
    at1 = at5 = twinned = 0.0
    present = 0
    for case in bench.cases:
        man = case.man
        if case.truth is None or man is None:
            continue
        k = sum(1 for other in by_surname[man.surname] if twin(case.query, man, other))
        present += 1
        at1 += 1 / k
        at5 += min(1.0, 5 / k)
        twinned += k > 1
    return at1 / present, at5 / present, twinned / present


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=tuple(SEEDS), default="test3")
    args = parser.parse_args(argv)
    at1, at5, twinned = ceiling(SEEDS[args.set])
    print(f"{args.set}: men undamaged, recall@1 at most {at1:.3f}, recall@5 at most {at5:.3f}; "
          f"queries with a twin {twinned:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
