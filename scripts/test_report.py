"""Where a test run's time went, over every lane's JUnit XML: the slowest tests, each file's
total, each lane's wall time, and one closing count line for all of them.

    python scripts/test_report.py RESULTS.xml... [--lane "TEXT"]... [--slowest N]
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path


def _file_of(classname: str) -> str:
    parts = classname.split(".")
    while parts and not parts[-1].startswith("test_"):
        parts.pop()  # a test class's name
    return "/".join(parts) + ".py" if parts else classname


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--lane", action="append", default=[])
    parser.add_argument("--slowest", type=int, default=40)
    args = parser.parse_args()

    cases = []
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for path in args.results:
        if not path.exists():
            print(f"test report: {path} is missing (its lane did not get to write it)")
            counts["failed"] += 1
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            outcome = "passed"
            if case.find("failure") is not None or case.find("error") is not None:
                outcome = "failed"
            elif case.find("skipped") is not None:
                outcome = "skipped"
            counts[outcome] += 1
            cases.append((float(case.get("time") or 0), _file_of(case.get("classname", "")), case.get("name", "")))

    print(f"{'=' * 30} slowest {args.slowest} tests, all lanes {'=' * 30}")
    for seconds, file, name in sorted(cases, reverse=True)[:args.slowest]:
        print(f"{seconds:9.1f} s  {file}::{name}")
    totals: dict[str, float] = defaultdict(float)
    tests: dict[str, int] = defaultdict(int)
    for seconds, file, _ in cases:
        totals[file] += seconds
        tests[file] += 1
    print(f"{'=' * 30} time per file, all lanes {'=' * 30}")
    for file, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{seconds:9.1f} s  {tests[file]:4d} tests  {file}")
    print(f"{sum(totals.values()):9.1f} s  {len(cases):4d} tests  in all (the lanes ran side by side)")
    for lane in args.lane:
        print(f"wall time: {lane}")
    print(f"lanes: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
