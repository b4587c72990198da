"""The package is grouped by layer and imports only point downwards (DESIGN.md "Growing the package"):
web and airflow use pipeline, pipeline uses db, db uses only settings and errors; cli sits on top."""

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
    "web": {"base", "db", "pipeline", "airflow", "web"},
    "top": {"base", "db", "pipeline", "airflow", "web", "top"},
}
TOP = {"cli", "__main__"}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # after "fondos"
    if not parts or parts[0] in {"settings", "errors", "__init__"}:
        return "base"
    if parts[0] in TOP:
        return "top"
    return parts[0]


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fondos"):
            found += [f"{node.module}.{a.name}" if node.module == "fondos" else node.module for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("fondos")]
    return found


def test_every_module_sits_in_a_known_layer():
    for path in PACKAGE.rglob("*.py"):
        module = "fondos." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        assert layer_of(module) in ALLOWED, f"{path}: no layer for {module}"


def test_imports_only_point_downwards():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = "fondos." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for target in imports(path):
            if layer_of(target) not in ALLOWED[layer_of(module)]:
                wrong.append(f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})")
    assert not wrong, "\n".join(wrong)


def test_the_layer_rule_itself_catches_an_upward_import(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("from fondos.airflow import dag_tasks\nimport fondos.pipeline.proceso\n")
    assert imports(bad) == ["fondos.airflow", "fondos.pipeline.proceso"]
    assert layer_of("fondos.airflow") not in ALLOWED["db"] and layer_of("fondos.pipeline.proceso") not in ALLOWED["db"]
