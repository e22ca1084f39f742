"""The peer of `connector due --batch` for benchmarks/cli.py: the same JSON lines answered by
businesstimedelta, as a process of its own.

Reads `{"start": ..., "hours": ...}` lines on stdin and writes `{"start", "hours", "due"}` lines
on stdout, due in Europe/Moscow. The rules are those of benchmarks/due_dates.py (WorkDayRule
10:00-18:00 Mon-Fri, HolidayRule with the RU days off, the working Saturdays), for 2025-2027;
without shortened days unless --shortened (then they are modelled by an extra rule, as there).

    python benchmarks/peer_businesstimedelta_batch.py [--shortened] < lines.jsonl > dues.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import businesstimedelta as btd  # noqa: E402

from benchmarks.due_dates import MOSCOW, peer_rules  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shortened", action="store_true", help="model shortened pre-holiday days too")
    args = parser.parse_args()
    rules = peer_rules(range(2025, 2028), shortened=args.shortened)
    deltas: dict[float, btd.BusinessTimeDelta] = {}
    out = []
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        hours = item["hours"]
        delta = deltas.get(hours)
        if delta is None:
            delta = deltas[hours] = btd.BusinessTimeDelta(rules, timedelta=dt.timedelta(hours=hours))
        due = (dt.datetime.fromisoformat(item["start"]) + delta).astimezone(MOSCOW)
        out.append(json.dumps({"start": item["start"], "hours": hours, "due": due.isoformat()}) + "\n")
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
