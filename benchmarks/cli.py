"""The speed of the command line, measured through processes as users run it.

1. Start-up: wall time of `connector --help`, `connector due --help` and one
   `connector due --start ... --hours 16` (median and min of RUNS runs each, after one warm-up
   run that compiles the bytecode), against the target of 0.3 s, beside two peers measured in the
   same run: `python -c pass` (the interpreter's floor) and `python -c "import businesstimedelta"`.
2. `connector due --batch --no-shortened` on LINES generated JSON lines (starts to the second
   over 2026 in three UTC offsets, SLA-like and fractional hours; fixed seed), stdin to stdout,
   against benchmarks/peer_businesstimedelta_batch.py: a process reading the same lines and
   answering them with businesstimedelta, rules as in benchmarks/due_dates.py. The comparison run
   uses --no-shortened, since businesstimedelta has no shortened days; every answer of the two is
   compared. Lines/s are lines over the wall time of the whole process (start-up, reading,
   computing, writing); the ratio is against the target of 150x. `connector due --batch` on the
   default calendar (shortened days on) is timed too, for reference.

The machine may be shared: the load average is printed beside the figures, and CPU seconds
(user + system of the child processes) beside wall seconds.

    .venv/bin/python benchmarks/cli.py [--lines 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONNECTOR = Path(sys.executable).with_name("connector")
PEER = ROOT / "benchmarks" / "peer_businesstimedelta_batch.py"
START_TARGET = 0.3  # seconds
BATCH_TARGET = 150  # times businesstimedelta's lines/s
SEED = 2026
OFFSETS = (timezone(timedelta(hours=3)), UTC, timezone(timedelta(hours=5)))
SLA_HOURS = (0.5, 1, 2, 4, 8, 16, 24, 40)


def generate(count: int, seed: int = SEED) -> list[str]:
    """`count` JSON lines: starts to the second over 2026 (in +03:00, Z or +05:00), hours half from
    the usual SLA targets, half any multiple of 0.01 h (36 s) up to 80 h."""
    rng = random.Random(seed)
    year = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=3)  # midnight in Moscow
    lines = []
    for _ in range(count):
        start = (year + timedelta(seconds=rng.randrange(365 * 86400))).astimezone(rng.choice(OFFSETS))
        text = start.isoformat().replace("+00:00", "Z")
        hours = rng.choice(SLA_HOURS) if rng.random() < 0.5 else rng.randrange(1, 8001) / 100
        lines.append(json.dumps({"start": text, "hours": hours}) + "\n")
    return lines


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], stdin=None, stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process, which must succeed."""
    cpu, started = cpu_children(), time.perf_counter()
    done = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return wall, cpu_children() - cpu


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


def startup(runs: int) -> bool:
    connector = [str(CONNECTOR)] if CONNECTOR.exists() else [sys.executable, "-m", "connector"]
    commands = [
        ("connector --help", connector + ["--help"], True),
        ("connector due --help", connector + ["due", "--help"], True),
        (
            "connector due --start ... --hours 16",
            connector + ["due", "--start", "2026-12-30T15:00:00+03:00", "--hours", "16"],
            True,
        ),
        ("python -c pass", [sys.executable, "-c", "pass"], False),
        ('python -c "import businesstimedelta"', [sys.executable, "-c", "import businesstimedelta"], False),
    ]
    print(f"start-up: {runs} runs each after a warm-up, wall seconds (and CPU seconds); {load()}")
    print(f"  {'':38} {'median':>8} {'min':>8} {'CPU med':>8}")
    medians, ok = {}, True
    for name, argv, ours in commands:
        run(argv)  # warm-up: bytecode compiled, files in the page cache
        times = [run(argv) for _ in range(runs)]
        wall = statistics.median(t for t, _ in times)
        medians[name] = wall
        verdict = ""
        if ours:
            verdict = "ok" if wall < START_TARGET else f"MISSES the target {START_TARGET} s"
            ok &= wall < START_TARGET
        print(
            f"  {name:38} {wall:8.3f} {min(t for t, _ in times):8.3f} "
            f"{statistics.median(c for _, c in times):8.3f}  {verdict}"
        )
    single = medians["connector due --start ... --hours 16"]
    for peer in ("python -c pass", 'python -c "import businesstimedelta"'):
        print(f"  connector due / {peer}: {single / medians[peer]:.1f} x")
    print(f"  target: each connector command under {START_TARGET} s")
    return ok


def batch(count: int) -> bool:
    connector = [str(CONNECTOR)] if CONNECTOR.exists() else [sys.executable, "-m", "connector"]
    with tempfile.TemporaryDirectory() as tmp:
        lines_path, ours_path, peer_path = (Path(tmp) / n for n in ("lines.jsonl", "ours.jsonl", "peer.jsonl"))
        lines_path.write_text("".join(generate(count)), encoding="utf-8")

        def timed(argv: list[str], out_path: Path) -> tuple[float, float]:
            with lines_path.open("rb") as stdin, out_path.open("wb") as stdout:
                return run(argv, stdin=stdin, stdout=stdout)

        print(f"\nbatch: {count:,} JSON lines (seed {SEED}), whole processes, stdin to stdout; {load()}")
        timed(connector + ["due", "--batch", "--no-shortened"], ours_path)  # warm-up
        ours = [timed(connector + ["due", "--batch", "--no-shortened"], ours_path) for _ in range(3)]
        default = [timed(connector + ["due", "--batch"], Path(tmp) / "default.jsonl") for _ in range(3)]
        peer_wall, peer_cpu = timed([sys.executable, str(PEER)], peer_path)
        wall, cpu = statistics.median(t for t, _ in ours), statistics.median(c for _, c in ours)
        d_wall, d_cpu = statistics.median(t for t, _ in default), statistics.median(c for _, c in default)
        print(f"  {'':44} {'lines/s':>10} {'wall s':>8} {'CPU s':>8}")
        print(f"  {'connector due --batch --no-shortened (med 3)':44} {count / wall:10,.0f} {wall:8.3f} {cpu:8.3f}")
        print(f"  {'connector due --batch (default, med 3)':44} {count / d_wall:10,.0f} {d_wall:8.3f} {d_cpu:8.3f}")
        print(
            f"  {'businesstimedelta peer process (1 run)':44} {count / peer_wall:10,.0f} "
            f"{peer_wall:8.3f} {peer_cpu:8.3f}"
        )
        ratio = peer_wall / wall
        print(f"  ratio (wall)  {ratio:8.1f} x   (target >= {BATCH_TARGET} x)")
        print(f"  ratio (CPU)   {peer_cpu / cpu:8.1f} x")
        print(f"  {load()}")

        ours_answers = ours_path.read_text(encoding="utf-8").splitlines()
        peer_answers = peer_path.read_text(encoding="utf-8").splitlines()
        if len(ours_answers) != count or len(peer_answers) != count:
            print(f"  WRONG COUNT: {len(ours_answers)} answers from connector, {len(peer_answers)} from the peer")
            return False
        wrong = [(a, b) for a, b in zip(ours_answers, peer_answers, strict=True) if json.loads(a) != json.loads(b)]
        for a, b in wrong[:5]:
            print(f"  DISAGREE ours {a} peer {b}")
        if wrong:
            print(f"  {len(wrong)} of {count:,} answers disagree (--no-shortened against the peer)")
            return False
        print(f"  all {count:,} answers agree (compared on --no-shortened: businesstimedelta has no shortened days)")
        return ratio >= BATCH_TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    started = startup(args.runs)
    batched = batch(args.lines)
    return 0 if started and batched else 1


if __name__ == "__main__":
    sys.exit(main())
