"""`make test` keeps its Airflow end-to-end tests in pytest-xdist groups (at most two stacks at once). On pytest
9.2 with pytest-xdist 3.8.0 the grouping silently stops (pytest-dev/pytest-xdist#1386): the tests spread as if
ungrouped and nothing fails. This proves, with the pinned versions, that grouped tests share one worker."""

from __future__ import annotations

import subprocess
import sys

TEST = '''import os, time, pytest
pytestmark = [pytest.mark.xdist_group("g")] if {grouped} else []
def test_x():
    time.sleep(0.3)
    open({out!r}, "a").write("{name} " + os.environ["PYTEST_XDIST_WORKER"] + "\\n")
'''


def test_grouped_tests_share_one_worker(tmp_path):
    out = tmp_path / "where"
    for i in range(6):
        (tmp_path / f"test_p{i}.py").write_text(TEST.format(grouped=i < 3, out=str(out), name=f"p{i}"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadgroup", "-q", "-p",
                           "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    where = dict(line.split() for line in out.read_text().splitlines())
    assert len(where) == 6
    assert len({where[f"p{i}"] for i in range(3)}) == 1, where  # the group on one worker
    assert len(set(where.values())) >= 2, where  # and the rest spread
