"""Due-date speed: our calendar engine against businesstimedelta, in one run.

5,000 starts spread over 2026 (every ~105 minutes, so they fall in and out of working time),
each + 40 working hours on the vendor's default calendar. businesstimedelta is configured to
give the same answers (RU days off, working Saturdays and shortened days need extra rules
there) at its fastest (its holidays as a set: it looks each day up in them); every answer is
compared, then both rates and the ratio are printed.

    python benchmarks/due_dates.py [--starts N] [--hours H]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.config.calendars import build_calendar  # noqa: E402
from tests.support.peer_calendar import MOSCOW, peer_rules, starts  # noqa: E402

TARGET_RATIO = 300


def rate(fn, moments) -> tuple[float, list]:
    """(operations per second, answers) of fn over moments."""
    t0 = time.perf_counter()
    answers = [fn(m) for m in moments]
    return len(moments) / (time.perf_counter() - t0), answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5000)
    parser.add_argument("--hours", type=float, default=40)
    args = parser.parse_args()
    import businesstimedelta as btd

    moments, hours = starts(args.starts), dt.timedelta(hours=args.hours)
    calendar = build_calendar("default")
    calendar.add(moments[0], hours)  # lay out the years once, as a long-running service has
    delta = btd.BusinessTimeDelta(peer_rules(range(2025, 2028)), timedelta=hours)

    ours, our_answers = rate(lambda m: calendar.add(m, hours), moments)
    peer, peer_answers = rate(lambda m: (m + delta).astimezone(MOSCOW), moments)
    wrong = [(m, a, b) for m, a, b in zip(moments, our_answers, peer_answers, strict=True) if a != b]
    print(f"due dates: {args.starts} starts over 2026, +{args.hours:g} working hours, default calendar")
    print(f"  connector          {ours:12,.0f} /s")
    print(f"  businesstimedelta  {peer:12,.0f} /s")
    print(f"  ratio              {ours / peer:12,.0f} x   (target >= {TARGET_RATIO} x)")
    if wrong:
        for m, a, b in wrong[:5]:
            print(f"  DISAGREE start {m.isoformat()}: ours {a.isoformat()} peer {b.isoformat()}")
        print(f"  {len(wrong)} answers disagree")
        return 1
    print(f"  all {len(moments)} answers agree")
    return 0 if ours / peer >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
