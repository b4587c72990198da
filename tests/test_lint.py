"""Static checks that are part of `make test`: SQL lint in both dialects, Python lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


FOLDERS = ["migrations/mssql", "sql/mssql", "migrations/postgres", "sql/postgres"]


def test_sqlfluff_clean():
    """Every SQL file of both dialects in one sqlfluff run (each folder's .sqlfluff picks its dialect),
    on every core: one start-up instead of four."""
    files = []
    for folder in FOLDERS:
        found = sorted((ROOT / folder).rglob("*.sql"))
        assert len(found) >= 20, folder  # every folder holds the project's SQL; an empty glob must not pass
        files += found
    result = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "--disable-progress-bar", "--nocolor", "--processes", "0", *map(str, files)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # A file sqlfluff could not parse, or skipped, must not pass as clean.
    assert "PRS" not in result.stdout and "skipped" not in result.stdout.lower()


def test_sqlfluff_uses_the_right_dialect_per_folder():
    for folder, dialect in zip(FOLDERS, ["tsql", "tsql", "postgres", "postgres"], strict=True):
        assert f"dialect = {dialect}" in (ROOT / folder / ".sqlfluff").read_text()


def test_ruff_clean():
    folders = [f for f in ("plugins", "tools", "dags", "tests", "bench", "hatch_build.py") if (ROOT / f).exists()]
    result = subprocess.run([str(BIN / "ruff"), "check", *folders], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docs_build_strictly(tmp_path):
    """docs/ as mkdocs builds it with --strict (mkdocs.yml warns on a missing page, link or anchor): a broken link
    fails here, not in a reader's browser. Every page is in the navigation."""
    import yaml

    result = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    nav = {next(iter(item.values())) for item in yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]}
    assert nav == {p.name for p in (ROOT / "docs").glob("*.md")}
    assert (tmp_path / "site" / "deploy" / "index.html").exists()


def test_the_readme_is_short_and_its_links_lead_somewhere():
    """A newcomer reads the README in ten minutes (under 200 lines); each of its relative links names a file
    of the repository (mkdocs checks the links inside docs/, not the README's)."""
    import re

    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 200
    links = [t for t in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if not t.startswith("http")]
    assert len(links) >= 10 and all((ROOT / t).exists() for t in links), [t for t in links if not (ROOT / t).exists()]
