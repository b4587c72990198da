"""The package is grouped by layer and imports only point downwards (../shared/DESIGN.md, "Growing the package"):
web and airflow use pipeline (never each other), pipeline uses db, db uses only settings and errors; cli sits
on top."""

from __future__ import annotations

import ast
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
TOP = {"cli", "__main__", "secrets_check"}  # secrets_check: the deployment check the CLI runs


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
    (pkg / "web" / "side.py").write_text("import fondos.airflow.local\nfrom fondos import cli\n")
    (pkg / "airflow" / "ok.py").write_text("from fondos.pipeline import stages\nfrom ..db import calls\n")
    assert violations(pkg) == [
        "fondos.db.bad (db) imports fondos.pipeline (pipeline)",
        "fondos.pipeline.rel (pipeline) imports fondos.airflow (airflow)",
        "fondos.web.side (web) imports fondos.airflow.local (airflow)",
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
