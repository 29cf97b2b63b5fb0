"""`python -m bench [names...]`: run benchmarks, print a table, merge into results.json (each
result with the commit it measured and when)."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from .harness import BENCH_DIR, ROOT, BenchError, bench_server

RESULTS = BENCH_DIR / "results.json"


def benchmarks() -> dict:
    """Benchmark name → function(server, tag) returning a result."""
    from .benchmarks import BENCHMARKS

    return dict(BENCHMARKS)


def git(*args: str) -> str:
    """A git command's output in the repository ("" when git cannot answer)."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def now_iso() -> str:
    """The current time, ISO 8601 UTC (CONTRACT §0's form)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(measured_at: str) -> dict:
    """What a result was measured on and when: the commit (and whether tracked files differed
    from it), and the time its measurement started."""
    return {
        "commit": git("rev-parse", "HEAD") or None,
        "measured_at": measured_at,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def merge(results: dict) -> dict:
    """Write these results over results.json's entries of the same names; keep the others."""
    try:
        merged = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        merged = {}
    merged = merged if isinstance(merged, dict) else {}
    merged.update(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged


def table(results: dict) -> str:
    """A fixed-width table of name, value, baseline, ratio, unit."""

    def cell(value) -> str:
        return "-" if value is None else str(value)

    rows = [("name", "value", "baseline", "ratio", "unit")]
    rows += [
        (name, cell(r["value"]), cell(r["baseline"]), cell(r["ratio"]), r["unit"])
        for name, r in results.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i in (0, 4) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def main(names: list[str]) -> int:
    """Run the named benchmarks (all by default); 1 when one measured errors, 2 on bad names."""
    available = benchmarks()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available)}")
        return 2
    tag = f"{os.getpid():x}{int(time.time()) % 100000}"  # keeps bodies unique across runs
    results, failed = {}, []
    started = time.monotonic()
    try:
        with bench_server() as server:
            for name in names or list(available):
                try:
                    measured_at = now_iso()
                    results[name] = {**available[name](server, tag), **provenance(measured_at)}
                except BenchError as exc:
                    failed.append(name)
                    print(f"{name}: FAILED: {exc}", file=sys.stderr)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    if results:
        merge(results)
        print()
        print(table(results))
        print(f"\nwritten to {RESULTS} in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
