"""The API's answers as pydantic models: what the OpenAPI document promises, and what FastAPI checks each
answer against before sending it (the fuzz test then checks every body against the document)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AirflowRun(BaseModel):
    dag_id: str
    run_id: str


class Etapa(BaseModel):
    etapa: str
    estado: str | None = Field(description="PENDIENTE, EN_PROGRESO, REINTENTANDO, OK, ERROR, OMITIDO "
                                           "(legacy history: as written)")
    filas: int | None
    inicio: str | None
    fin: str | None
    segundos: int | None
    intentos: int | None
    mensaje: str | None
    task_id: str | None = Field(description="the mapped task in Airflow, e.g. procesar_fondo.ipa")
    log_url: str | None = Field(description="that mapped task's page (with its log) in Airflow's UI, "
                                            "relative to Airflow's base URL")


class Fondo(BaseModel):
    id_ejecucion: int
    id_fund: int
    fundshortname: str | None
    estado: str | None
    map_index: int | None = Field(description="the fund's map index in the Airflow run (i-th fund by ID_Fund)")
    etapas: list[Etapa]


class Metrica(BaseModel):
    metrica: str
    nombre: str
    valor: float | None
    mostrado: str
    objetivo: str
    tolerancia: str
    resultado: str = Field(description="met, within tolerance, missed, not measured")


class Veredicto(BaseModel):
    veredicto: str = Field(description="the worst measured result: met, within tolerance, missed; "
                                       "not measured when nothing was")
    closed: bool
    metricas: list[Metrica]
    texto: str
    motor: str | None = None
    reintentos: int | None = None


class Proceso(BaseModel):
    id_proceso: int
    fechareporte: str
    estado: str
    usuario: str | None
    claveejecucion: str | None
    totalfondos: int
    fondosexitosos: int
    fondosfallidos: int
    fondosenprogreso: int
    fechainicio: str | None
    fechafin: str | None
    duracionsegundos: int | None
    legado: bool
    airflow: AirflowRun | None


class ProcesoDetalle(Proceso):
    etapas: list[str] = Field(description="the stages, in the order they run")
    ejecuciones: list[Fondo]
    metricas: Veredicto | None = Field(description="the plan's success metrics and verdict (None for history)")


class Ejecucion(BaseModel):
    id_ejecucion: int
    id_proceso: int
    fechareporte: str
    estado_proceso: str
    legado: bool
    airflow: AirflowRun | None
    fondos: list[Fondo]
