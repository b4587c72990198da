"""The stage catalog: the one place that says which procedures make each stage,
which parameters they take, and which stages depend on which.

    IPA ──► CAPM ──────► PNL
     ├────► Derivados ─┘
     └────► UBS

A stage's steps run in order, each one a procedure that only touches the
fund's own ID_Ejecucion and replaces its previous rows (so any step, and so
any stage, can be re-run).
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_PARAMS = ("ID_Ejecucion", "FechaReporte", "ID_Fund")
# The DAG's per-fund task group: each stage is the mapped task "procesar_fondo.<stage in lower case>", and
# map index i is the i-th ejecución of the proceso in ID_Fund order (crear_proceso's item order).
GROUP_ID = "procesar_fondo"
# Stage states that mean "this attempt failed" (REINTENTANDO: and Airflow will try again).
FAILED_STATES = ("ERROR", "REINTENTANDO")


def task_id(etapa: str) -> str:
    return f"{GROUP_ID}.{etapa.lower()}"


@dataclass(frozen=True)
class Step:
    procedure: str
    extra_params: tuple[str, ...] = ()  # taken from the ejecución item, e.g. Portfolio_Geneva

    @property
    def params(self) -> tuple[str, ...]:
        return BASE_PARAMS + self.extra_params


@dataclass(frozen=True)
class Stage:
    name: str
    upstream: tuple[str, ...]
    steps: tuple[Step, ...]


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("IPA", (), (
            Step("extract.IPA_00_Extraer_v2", ("Portfolio_Geneva",)),
            Step("staging.IPA_01_RescatarLocalPrice_v2", ("Portfolio_Geneva",)),
            Step("staging.IPA_02_ValorizarPosiciones_v2"),
            Step("staging.IPA_03_CargarCaja_v2"),
            Step("staging.IPA_04_ConsolidarFinal_v2"),
        )),
        Stage("CAPM", ("IPA",), (
            Step("extract.CAPM_00_Extraer_v2", ("Portfolio_CAPM",)),
            Step("staging.CAPM_01_CargarMovimientos_v2"),
            Step("staging.CAPM_02_ConsolidarFinal_v2"),
        )),
        Stage("Derivados", ("IPA",), (
            Step("extract.Derivados_00_Extraer_v2", ("Portfolio_Derivados",)),
            Step("staging.Derivados_01_Valorizar_v2"),
            Step("staging.Derivados_02_ConsolidarFinal_v2"),
        )),
        Stage("UBS", ("IPA",), (
            Step("extract.UBS_00_Extraer_v2", ("Portfolio_UBS",)),
            Step("staging.UBS_01_CargarCustodia_v2"),
            Step("staging.UBS_02_Conciliar_v2"),
            Step("staging.UBS_03_ConsolidarFinal_v2"),
        )),
        Stage("PNL", ("CAPM", "Derivados"), (
            Step("staging.PNL_01_CalcularResultado_v2"),
            Step("staging.PNL_02_ConsolidarFinal_v2"),
        )),
    )
}


def stage_order() -> list[str]:
    """Stage names in an order where every stage comes after its upstream stages."""
    done: list[str] = []
    pending = list(STAGES)
    while pending:
        for name in pending:
            if all(u in done for u in STAGES[name].upstream):
                done.append(name)
                pending.remove(name)
                break
        else:
            raise ValueError(f"cycle in the stage catalog among {pending}")
    return done
