"""``make fuzz``: every fuzz target for ``--seconds`` each, and a JSON report of the counts.

Each target runs as its own process (libFuzzer stops at the first crash): after a crash the
target starts again for the time left, so one defect does not end the run, and the report
counts inputs over all of a target's runs. A crash is a file libFuzzer wrote to
``tests/fuzz_corpus/crashes/<target>/`` — keep it: ``tests/unit/fuzz_regressions`` replays it.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TARGETS = {"events": "fuzz_events.py", "cleaner": "fuzz_cleaner.py"}
CRASHES = REPO / "tests" / "fuzz_corpus" / "crashes"
#: Restarts after crashes at most, per target (a defect hit on every input would loop).
MAX_RUNS = 20
_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def run_target(name: str, seconds: int, log: Path) -> dict[str, Any]:
    """Fuzz one target for ``seconds`` in all; its inputs, crashes and runs."""
    folder = CRASHES / name
    folder.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in folder.iterdir()}
    deadline = time.monotonic() + seconds
    inputs, runs, exit_codes = 0, 0, []
    with log.open("w") as out:
        while runs < MAX_RUNS and (left := int(deadline - time.monotonic())) >= 1:
            command = [
                sys.executable,
                str(REPO / "tools" / "fuzz" / TARGETS[name]),
                f"-max_total_time={left}",
                "-timeout=30",  # a single input this slow is a defect too
                "-rss_limit_mb=4096",
                "-print_final_stats=1",
            ]
            result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
            out.write(result.stdout + result.stderr)
            inputs += sum(int(n) for n in _EXECUTED.findall(result.stderr))
            runs += 1
            exit_codes.append(result.returncode)
            if result.returncode == 0:
                break
    found = sorted(p.name for p in folder.iterdir() if p.name not in before)
    return {
        "seconds": seconds,
        "inputs": inputs,
        "crashes": len(found),
        "crash_files": found,
        "runs": runs,
        "exit_codes": exit_codes,
        "log": str(log.relative_to(REPO)) if log.is_relative_to(REPO) else str(log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "fuzz.json")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated")
    args = parser.parse_args()
    logs = REPO / ".khabar" / "fuzz"
    logs.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "tool": f"atheris {metadata.version('atheris')} (libFuzzer)",
        "python": platform.python_version(),
        "seconds_per_target": args.seconds,
        "targets": {},
    }
    for name in args.targets.split(","):
        result = run_target(name, args.seconds, logs / f"{name}.log")
        report["targets"][name] = result
        print(f"{name}: {result['inputs']} inputs, {result['crashes']} crashes", flush=True)
    report["inputs"] = sum(t["inputs"] for t in report["targets"].values())
    report["crashes"] = sum(t["crashes"] for t in report["targets"].values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if report["crashes"]:
        sys.exit(f"{report['crashes']} crashes: see {CRASHES} and {logs}")


if __name__ == "__main__":
    main()
