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


class Control(BaseModel):
    control: str = Field(description="PATRIMONIO, PRECIOS, QUIEBRES, QUIEBRES_MONTO (030)")
    estado: str = Field(description="OK, RETENIDO (above its threshold: held), SIN_COMPARACION, NO_APLICA")
    valor: float | None
    valoranterior: float | None = Field(description="PATRIMONIO: the previous business day's approved net assets")
    importe: float | None = Field(description="QUIEBRES_MONTO: the breaks' amount in base currency")
    umbral: float
    fechaanterior: str | None
    razon: str = Field(description="what the check found, naming the figure, the previous value and the threshold")


class Fondo(BaseModel):
    id_ejecucion: int
    id_fund: int
    fundshortname: str | None
    estado: str | None
    map_index: int | None = Field(description="the fund's map index in the Airflow run (i-th fund by ID_Fund)")
    etapas: list[Etapa]
    verificacion: str | None = Field(
        default=None, description="where the plausibility checks leave the fund: OK, SIN_COMPARACION, RETENIDO "
                                  "(held: not published), ACEPTADO (held, accepted by an operator), PENDIENTE "
                                  "(not run on its latest figures); None when the fund is not OK or for history")
    aceptadopor: str | None = None
    motivoaceptacion: str | None = None
    publicado: bool = Field(default=False, description="its figures are in logs.vw_Cifras_Aprobadas now")
    controles: list[Control] = Field(default_factory=list)


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
    fondoslegado: int | None = Field(
        default=None, description="active funds with the legacy writer (v2) when the proceso was created (028)")
    airflow: AirflowRun | None


class AlertaRollback(BaseModel):
    disparador: str = Field(description="FALLOS_2H (Escenario 1) or DURACION (Escenario 2) of the plan's Rollback Plan")
    detalle: str = Field(description="the figures that fired it, as first recorded")
    accion: str = Field(description="the plan's action for it")
    fecharegistro: str
    envio: str = Field(description="PENDIENTE (recorded, not sent), RESERVADO (being sent), ENVIADO")
    canal: str | None
    fechaenvio: str | None


class Decision(BaseModel):
    secuencia: int
    decision: str = Field(description="APROBADO or RECHAZADO")
    usuario: str = Field(description="the Airflow user who signed")
    solicitante: str | None = Field(description="who asked for the run (four eyes: never the signer)")
    comentario: str | None
    publicadas: int = Field(description="ejecuciones this approval published")
    fechafirma: str


class Firma(BaseModel):
    estado: str = Field(description="APROBADO, RECHAZADO (the latest decision), PENDIENTE (awaiting sign-off) or "
                                    "SIN_FIRMA (no sign-off configured: nothing is published)")
    usuario: str | None
    comentario: str | None
    publicados: int = Field(description="funds of this proceso whose figures are published now")
    retenidos: int = Field(description="funds held by a check and not accepted")
    aprobadores: list[str]
    decisiones: list[Decision]


class ProcesoDetalle(Proceso):
    etapas: list[str] = Field(description="the stages, in the order they run")
    ejecuciones: list[Fondo]
    metricas: Veredicto | None = Field(description="the plan's success metrics and verdict (None for history)")
    alertas: list[AlertaRollback] = Field(default_factory=list,
                                          description="the plan's rollback triggers that fired for this proceso (029)")
    firma: Firma | None = Field(default=None, description="the checks' holds and the four-eyes sign-off (030); "
                                                          "None for history")


class Ejecucion(BaseModel):
    id_ejecucion: int
    id_proceso: int
    fechareporte: str
    estado_proceso: str
    legado: bool
    airflow: AirflowRun | None
    fondos: list[Fondo]


class ComparacionFondo(BaseModel):
    id_fund: int
    fundshortname: str | None
    id_ejecucion: int | None = Field(description="the fund's ejecución in the new proceso (None: only in the legacy run)")
    presente: str = Field(description="ambos, solo_nuevo, solo_legado: in whose logs.Ejecucion_Fondos the fund is")
    tablas: int = Field(description="extract/staging tables compared")
    filas_nuevo: int
    filas_legado: int
    filas_distintas: int = Field(description="rows only on one side, or matched with a column differing")
    diferencias: int


class ComparacionDiferencia(BaseModel):
    id_fund: int
    fundshortname: str | None
    tabla: str
    clave: str = Field(description="the row's natural key, col=value, ...; empty for a row count, a sum or a fund")
    columna: str = Field(description="lower case; empty for a whole row or a row count")
    valor_nuevo: str | None = Field(description="exact text (decimals at their scale, ISO dates)")
    valor_legado: str | None
    diferencia: str | None = Field(description="new - legacy, for numbers")
    tipo: str = Field(description="solo_nuevo, solo_legado, valor, filas, suma")


class Comparacion(BaseModel):
    fecha: str
    id_proceso: int
    estado_proceso: str
    id_legado: int = Field(description="the legacy run's ID_Ejecucion")
    estado_legado: str
    tolerancia: str
    coincide: bool = Field(description="true when there is no difference at all")
    fondos: list[ComparacionFondo]
    total_diferencias: int
    diferencias: list[ComparacionDiferencia] = Field(description="the first `limite` differences")
    truncado: bool = Field(description="true when there are more differences than listed")
