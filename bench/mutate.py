"""make mutate: break one formula at a time, in both dialects, and show the tests catch each.

Each mutation (tests/mutations.py) is a one-token change a tired developer could make (a fallback order,
an FX direction, a sign, a rounding place), written once per dialect:

* PostgreSQL: the twin's file is changed, the oracle and numeric-contract tests run against fresh
  databases (which deploy the changed function), and the file is restored, whatever happens;
* T-SQL: the T-SQL file is changed, the differential check (tests/test_tsql_twin.py, which runs the
  T-SQL on PostgreSQL and compares every row with the twin's) runs, and the file is restored.

A mutation the tests do not catch "survives": the command then exits 1.

    make mutate            # 12 mutations x 2 dialects
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mutations import MUTATIONS  # noqa: E402

CHECKS = {
    "postgres": ["tests/test_oracle.py", "tests/test_numeric_contract.py", "-k", "not mssql"],
    "mssql": ["tests/test_tsql_twin.py", "-k", "every_tsql_step"],
}


def run_one(dialect: str, name: str, file: str, old: str, new: str) -> bool:
    path = ROOT / "sql" / dialect / "staging" / file
    original = path.read_text()
    if original.count(old) < 1:
        raise SystemExit(f"mutation '{name}': the text to change is not in {path} any more; update tests/mutations.py")
    try:
        path.write_text(original.replace(old, new))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *CHECKS[dialect]],
                                cwd=ROOT, capture_output=True, text=True, timeout=900)
    finally:
        path.write_text(original)
    caught = result.returncode != 0
    marks = ("expected", "differs", "rows differ", "failed on") if dialect == "postgres" else ("sql/mssql/",)
    first = next((line for line in result.stdout.splitlines()
                  if line.startswith("E ") and any(m in line for m in marks)), "")
    check = CHECKS[dialect][0]
    print(f"{'caught  ' if caught else 'SURVIVED'}  {dialect:8} {name:42} by {check}\n          {first.strip()[:160]}",
          flush=True)
    return caught


def main() -> int:
    started = time.monotonic()
    caught = {"postgres": [], "mssql": []}
    for m in MUTATIONS:
        caught["postgres"].append(run_one("postgres", m.name, m.file, m.pg_old, m.pg_new))
        caught["mssql"].append(run_one("mssql", m.name, m.file, m.tsql_old, m.tsql_new))
    print()
    for dialect, results in caught.items():
        print(f"{dialect}: {sum(results)} of {len(results)} mutations caught")
    print(f"in {time.monotonic() - started:.0f} s")
    return 0 if all(all(r) for r in caught.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
