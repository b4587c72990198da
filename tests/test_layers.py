"""The package is grouped by layer and imports only point downwards (../shared/DESIGN.md, "Growing the package"):
web and airflow use pipeline (never each other), pipeline uses db, db uses only settings and errors; cli and the
plugin sit on top. The development tools (tools/fondos_dev) may use the package; the package never uses them,
nor the libraries only they need: the wheel carries the package alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "fondos"
# A layer may import from the layers listed for it (and from itself).
ALLOWED = {
    "base": {"base"},
    "db": {"base", "db"},
    "pipeline": {"base", "db", "pipeline"},
    "airflow": {"base", "db", "pipeline", "airflow"},
    "web": {"base", "db", "pipeline", "web"},
    "top": {"base", "db", "pipeline", "airflow", "web", "top"},
}
TOP = {"cli", "__main__", "secrets_check", "plugin"}  # secrets_check: the deployment check the CLI runs
TOOLS = Path(__file__).resolve().parents[1] / "tools" / "fondos_dev"


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # after "fondos"
    if not parts or parts[0] in {"settings", "errors", "__init__"}:
        return "base"
    if parts[0] in TOP:
        return "top"
    return parts[0]


def module_name(package: Path, path: Path) -> str:
    return "fondos." + ".".join(path.relative_to(package).with_suffix("").parts)


def imports(path: Path, module: str) -> list[str]:
    """Every fondos module `path` imports, absolute or relative (resolved against `module`)."""
    found = []
    here = module.split(".")[:-1]  # the package holding the module ("fondos.db" for fondos.db.x and fondos.db.__init__)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "fondos":
                found += [f"fondos.{a.name}" for a in node.names]
            elif target.startswith("fondos."):
                found.append(target)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "fondos" or a.name.startswith("fondos.")]
    return found


def violations(package: Path) -> list[str]:
    wrong = []
    for path in sorted(package.rglob("*.py")):
        module = module_name(package, path)
        for target in imports(path, module):
            if layer_of(target) not in ALLOWED.get(layer_of(module), set()):
                wrong.append(f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})")
    return wrong


def test_every_module_sits_in_a_known_layer():
    for path in PACKAGE.rglob("*.py"):
        assert layer_of(module_name(PACKAGE, path)) in ALLOWED, path


def test_imports_only_point_downwards():
    assert violations(PACKAGE) == []


def test_the_check_catches_upward_and_sideways_imports_absolute_or_relative(tmp_path):
    pkg = tmp_path / "fondos"
    for layer in ("db", "pipeline", "airflow", "web"):
        (pkg / layer).mkdir(parents=True)
        (pkg / layer / "__init__.py").write_text("")
    (pkg / "db" / "bad.py").write_text("from fondos.pipeline import proceso\n")
    (pkg / "pipeline" / "rel.py").write_text("from ..airflow import dag_tasks\nfrom . import stages\n")
    (pkg / "web" / "side.py").write_text("import fondos.airflow.dag_tasks\nfrom fondos import cli\n")
    (pkg / "airflow" / "ok.py").write_text("from fondos.pipeline import stages\nfrom ..db import calls\n")
    assert violations(pkg) == [
        "fondos.db.bad (db) imports fondos.pipeline (pipeline)",
        "fondos.pipeline.rel (pipeline) imports fondos.airflow (airflow)",
        "fondos.web.side (web) imports fondos.airflow.dag_tasks (airflow)",
        "fondos.web.side (web) imports fondos.cli (top)",
    ]


def test_the_preload_holds_what_a_stage_task_imports():
    """Airflow's long-lived processes import fondos.airflow.preload so forked task processes need not: it must
    hold the modules a stage task and cerrar_proceso use (the layering refactor once lost them to an import
    clean-up; the stage tasks still worked, only slower)."""
    import subprocess
    import sys

    code = ("import sys, fondos.airflow.preload; "
            "print(' '.join(m for m in ('fondos.db.calls', 'fondos.db.connection', 'fondos.pipeline.proceso', "
            "'fondos.pipeline.report', 'fondos.pipeline.stages', 'fondos.pipeline.metrics', 'fondos.pipeline.metas', "
            "'airflow.providers.postgres.hooks.postgres', 'psycopg') if m not in sys.modules))")
    missing = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert missing == ""


# What the runtime may import: the standard library, what its dependencies bring (pyproject.toml: Airflow and
# what Airflow itself depends on, holidays, rich), itself; an extra's driver only inside a function or under an
# ImportError guard, so the package imports with one extra or none (tests/test_install.py blocks them and imports
# every module of the installed wheel).
CORE = {"airflow", "pendulum", "sqlalchemy", "fastapi", "pydantic", "cryptography", "holidays", "rich", "fondos"}
EXTRA_ONLY = {"psycopg", "psycopg2", "pyodbc", "pymssql", "slack_sdk", "celery", "redis"}


def _guarded(node: ast.AST, parents: dict) -> bool:
    """Inside a function body, or a `try` / `with contextlib.suppress(...)` block."""
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Try)):
            return True
        if isinstance(node, ast.With) and any("suppress" in ast.unparse(item.context_expr) for item in node.items):
            return True
    return False


def runtime_dev_imports(package: Path) -> list[str]:
    """Every import of the package that a wheel installed with its dependencies (and no extra) cannot satisfy at
    import time: a development tool anywhere, an extra's driver at module level."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in CORE or top == "__future__":
                    continue
                if top in EXTRA_ONLY and _guarded(node, parents):
                    continue
                wrong.append(f"{module_name(package, path)} imports {name}")
    return sorted(set(wrong))


def test_the_runtime_imports_no_development_tool():
    """Not the tools (fondos_dev), not what only they or an extra need; checked on the source here and on the
    installed wheel by tests/test_install.py (every module imported, no development module loaded)."""
    assert TOOLS.is_dir() and (TOOLS / "tsql_check.py").exists() and (TOOLS / "local_airflow.py").exists()
    assert runtime_dev_imports(PACKAGE) == []
    assert not any((PACKAGE / "db" / name).exists() for name in ("tsql_check.py", "tsql_model.py", "embedded.py"))


def test_the_runtime_check_catches_a_tool_import(tmp_path):
    pkg = tmp_path / "fondos"
    (pkg / "db").mkdir(parents=True)
    (pkg / "db" / "x.py").write_text("import pyodbc\nimport json\n\ndef f():\n    from fondos_dev import embedded\n"
                                     "    import sqlglot.expressions\n    import psycopg\n"
                                     "with open('x') as f:\n    import pymssql\n"
                                     "with contextlib.suppress(ImportError):\n    import slack_sdk\n")
    assert runtime_dev_imports(pkg) == ["fondos.db.x imports fondos_dev", "fondos.db.x imports pymssql",
                                        "fondos.db.x imports pyodbc", "fondos.db.x imports sqlglot.expressions"]
