"""The parallel run (plan FASE 4, validación con datos reales): the new pipeline's figures against the legacy
v2 writer's for the same report date. `fondos comparar` and GET /fondos/api/procesos/comparacion use it.

The two sides:

* new: a proceso of procesos_diarios (the latest non-legacy proceso of the date in logs.vw_Procesos, or the
  one given), one ID_Ejecucion per fund (ids >= 10^15);
* legacy: a run of the v2 writer (the latest legacy run of the date, an `OK` one first, or the one given),
  one ID_Ejecucion shared by every fund (a millisecond timestamp; its proceso id in logs.vw_Procesos is that
  ID_Ejecucion, for backfilled history (015) as for v2 runs written after the migration).

Per fund (logs.Ejecucion_Fondos of either side) and per table of fondos.db.legacy.DATA_TABLES, the new rows are
the fund's ejecución's; the legacy rows are the shared id's with ID_Fund = the fund (staging) or, extract
tables having no ID_Fund, the fund's code in the column the extract step filled (CODIGOS: IPA, SONA and
PosModRF by Portfolio_Geneva, CAPM by Portfolio_CAPM, Derivados by Portfolio_Derivados, UBS's Cuenta by
Portfolio_UBS; the legacy run's own codes, the new proceso's when the legacy run did not register the fund).

Rows are matched on the table's natural key (CLAVES: the unique keys of migration 019 without ID_Ejecucion;
tables keyed by ID_Ejecucion alone hold one row per fund and match on the empty key). Rows equal on every
compared column pair first, so an exact legacy duplicate (the v2 writer left some) is one extra legacy row of
its key; the rest pair up in order and each column that differs is reported. Numbers differ when they differ
by more than the tolerance (default 0.0001), anything else when not equal.

Compared: every column in information_schema.columns except the bookkeeping ones, IGNORADAS: ID_Ejecucion
(always different by design) and ID_Fund (the legacy side is selected by it). The extract/staging DDL
(migrations 006-011, 021) has no load timestamps (no FechaCarga or FechaProceso), so nothing else is left
out: FechaReporte, FechaPrecio and FechaVencimiento are data and are compared.

Differences (`Diferencia.tipo`): `solo_nuevo` / `solo_legado` (a row of a key only on that side, or a fund
only in that side's logs.Ejecucion_Fondos), `valor` (one column of a matched row), `filas` (the row counts of
a fund's table), `suma` (the sum of an amount column -- numeric/decimal, not an id -- differing by more than
the tolerance). Values are compared as the driver returns them: Decimal, date, str.

Memory: one fund's rows of one table (both sides) at a time; the differences found are kept.
Every value is bound as a parameter; table names come only from DATA_TABLES and column names only from
information_schema.columns (and must be plain identifiers).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fondos.db.calls import read
from fondos.db.connection import Database
from fondos.db.legacy import DATA_TABLES
from fondos.errors import DataError, FondosError

TOLERANCIA = Decimal("0.0001")
IGNORADAS = frozenset({"id_ejecucion", "id_fund"})
TIPOS = ("solo_nuevo", "solo_legado", "valor", "filas", "suma")
CSV_COLUMNAS = ("fecha", "ID_Fund", "FundShortName", "tabla", "clave", "columna", "valor_nuevo", "valor_legado",
                "diferencia", "tipo")
FONDOS_TABLA = "logs.Ejecucion_Fondos"
# Natural keys: 019's unique keys without ID_Ejecucion (tests/test_comparar.py checks both dialects' 019).
CLAVES: dict[str, tuple[str, ...]] = {
    "extract.IPA": ("Portfolio", "ID_Instrumento"),
    "extract.CAPM": ("Portfolio", "ID_Movimiento"),
    "extract.PosModRF": ("Portfolio", "ID_Instrumento", "FechaPrecio"),
    "extract.SONA": ("Portfolio", "Moneda"),
    "extract.Derivados": ("Portfolio", "ID_Contrato"),
    "extract.UBS": ("Cuenta", "ID_Instrumento"),
    "staging.IPA_Precios": ("ID_Instrumento",),
    "staging.IPA_WorkTable": ("ID_Instrumento",),
    "staging.IPA_Cash": ("Moneda",),
    "staging.IPA_Final": ("Tipo_Linea", "Linea"),
    "staging.CAPM_WorkTable": ("ID_Movimiento",),
    "staging.CAPM_Final": (),
    "staging.PNL_WorkTable": ("ID_Instrumento",),
    "staging.PNL_Final": (),
    "staging.Derivados_WorkTable": ("ID_Contrato",),
    "staging.Derivados_Final": (),
    "staging.UBS_WorkTable": ("ID_Instrumento",),
    "staging.UBS_Reconciliacion": ("ID_Instrumento",),
    "staging.UBS_Final": (),
}
# Extract tables (no ID_Fund): the column holding the fund's code, and which code of logs.Ejecucion_Fondos.
CODIGOS: dict[str, tuple[str, str]] = {
    "extract.IPA": ("Portfolio", "portfolio_geneva"),
    "extract.SONA": ("Portfolio", "portfolio_geneva"),
    "extract.PosModRF": ("Portfolio", "portfolio_geneva"),
    "extract.CAPM": ("Portfolio", "portfolio_capm"),
    "extract.Derivados": ("Portfolio", "portfolio_derivados"),
    "extract.UBS": ("Cuenta", "portfolio_ubs"),
}
_NUMERICOS = frozenset({"numeric", "decimal", "money", "smallmoney", "integer", "int", "bigint", "smallint",
                        "tinyint", "real", "float", "double precision"})
_IMPORTES = frozenset({"numeric", "decimal", "money", "smallmoney"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FONDO_COLS = ("f.ID_Ejecucion, f.ID_Fund, f.FundShortName, f.Portfolio_Geneva, f.Portfolio_CAPM, "
               "f.Portfolio_Derivados, f.Portfolio_UBS")


class SinPermiso(FondosError):
    """The connection's login may not read the tables the comparison needs."""


@dataclass(frozen=True)
class Diferencia:
    id_fund: int
    fundshortname: str | None
    tabla: str
    clave: str  # "col=value, ..." of the natural key; "" for a whole table or fund
    columna: str  # lower case; "" for a row or a row count
    valor_nuevo: Any
    valor_legado: Any
    diferencia: Decimal | None  # new - legacy, for numbers
    tipo: str  # one of TIPOS


@dataclass(frozen=True)
class Tabla:
    tabla: str
    filas_nuevo: int
    filas_legado: int
    filas_distintas: int  # rows only on one side, or matched with a column differing
    sumas: dict[str, tuple[Decimal, Decimal]]  # amount column -> (new, legacy)


@dataclass
class Fondo:
    id_fund: int
    fundshortname: str | None
    id_ejecucion: int | None  # the new side's; None when only in the legacy run
    presente: str  # ambos, solo_nuevo, solo_legado
    tablas: list[Tabla] = field(default_factory=list)
    diferencias: int = 0

    @property
    def filas_nuevo(self) -> int:
        return sum(t.filas_nuevo for t in self.tablas)

    @property
    def filas_legado(self) -> int:
        return sum(t.filas_legado for t in self.tablas)

    @property
    def filas_distintas(self) -> int:
        return sum(t.filas_distintas for t in self.tablas)


@dataclass
class Comparacion:
    fecha: date
    id_proceso: int
    estado_proceso: str
    id_legado: int
    estado_legado: str
    tolerancia: Decimal
    fondos: list[Fondo] = field(default_factory=list)
    diferencias: list[Diferencia] = field(default_factory=list)

    @property
    def coincide(self) -> bool:
        return not self.diferencias


@dataclass(frozen=True)
class _Columnas:
    nombres: tuple[str, ...]  # as the catalog spells them, for the SELECT
    comparadas: tuple[str, ...]  # lower case, as the rows' keys
    clave: tuple[str, ...]
    numericas: frozenset[str]
    importes: tuple[str, ...]


# --- reading ---------------------------------------------------------------------------------------------

def _sin_permiso(exc: BaseException) -> bool:
    """PostgreSQL's insufficient_privilege, SQL Server's error 229 (permission denied on an object)."""
    if getattr(exc, "sqlstate", None) == "42501":
        return True
    args = getattr(exc, "args", ())
    return bool(args) and (args[0] == 229 or "(229)" in " ".join(map(str, args)))


def _permiso(que: str) -> SinPermiso:
    return SinPermiso(
        f"this login may not read {que} (refused, or information_schema.columns shows it none of its columns): "
        "the comparison reads logs.Ejecuciones, logs.Ejecucion_Fondos and every "
        "extract.*/staging.* table, which the least-privilege roles (fondos_pipeline, fondos_lector, "
        "fondos_operador) do not; run it with a login that has SELECT on them (e.g. the database owner's)")


def _leer(db: Database, sql: str, params: Iterable[Any], que: str) -> list[dict[str, Any]]:
    try:
        return read(db, sql, tuple(params))
    except Exception as exc:
        if _sin_permiso(exc):
            raise _permiso(que) from exc
        raise


def _procesos(db: Database, fecha: date) -> list[dict[str, Any]]:
    return _leer(db, "SELECT ID_Proceso, Estado, FechaInicio, Legado FROM logs.vw_Procesos WHERE FechaReporte = %s",
                 (fecha,), "logs.vw_Procesos")


def _proceso_nuevo(rows: list[dict[str, Any]], fecha: date, id_proceso: int | None) -> dict[str, Any]:
    nuevos = [r for r in rows if not r["legado"] and id_proceso in (None, r["id_proceso"])]
    if nuevos:
        return max(nuevos, key=lambda r: r["id_proceso"])
    if id_proceso is not None:
        raise DataError(f"{id_proceso} is not a proceso of procesos_diarios for {fecha} in logs.vw_Procesos (a legacy "
                        f"run, another date, or no such id): list them with `fondos proceso estado --fecha {fecha}`")
    raise DataError(f"no proceso of procesos_diarios for {fecha} in logs.vw_Procesos: the parallel run compares the new "
                    f"pipeline's run of a date with the v2 writer's; trigger procesos_diarios for {fecha} first, or "
                    "pass --proceso ID")


def _run_legado(rows: list[dict[str, Any]], fecha: date, id_legado: int | None) -> dict[str, Any]:
    legados = [r for r in rows if r["legado"] and id_legado in (None, r["id_proceso"])]
    if legados:  # an OK run first, then the latest
        return max(legados, key=lambda r: (r["estado"] == "OK", r["fechainicio"], r["id_proceso"]))
    if id_legado is not None:
        raise DataError(f"{id_legado} is not a legacy run of {fecha} in logs.Ejecuciones (a new proceso, another date, "
                        "or no such id): pass the ID_Ejecucion the v2 writer used for that date")
    raise DataError(f"no legacy run for {fecha} in logs.Ejecuciones: the parallel run compares against the v2 writer's "
                    "run of the same date; run the v2 writer for that date, or pass --legado ID")


def _columnas(db: Database, tabla: str) -> _Columnas:
    schema, name = tabla.split(".")
    rows = _leer(db, "SELECT column_name AS c, data_type AS t FROM information_schema.columns "
                     "WHERE LOWER(table_schema) = %s AND LOWER(table_name) = %s ORDER BY ordinal_position",
                 (schema.lower(), name.lower()), tabla)
    tipos = {r["c"].lower(): r["t"].lower() for r in rows}
    if not rows:  # PostgreSQL lists only the columns the login may use
        raise _permiso(tabla)
    if not all(_IDENT.match(r["c"]) for r in rows) or "id_ejecucion" not in tipos:
        raise FondosError(f"{tabla}: unexpected columns in information_schema.columns: {sorted(tipos)}")
    comparadas = tuple(c for c in tipos if c not in IGNORADAS)
    return _Columnas(
        nombres=tuple(r["c"] for r in rows if r["c"].lower() not in IGNORADAS),
        comparadas=comparadas,
        clave=tuple(c.lower() for c in CLAVES[tabla]),
        numericas=frozenset(c for c in comparadas if tipos[c] in _NUMERICOS),
        importes=tuple(c for c in comparadas if tipos[c] in _IMPORTES and not c.startswith("id_")))


def _fondos(db: Database, sql_where: str, ident: int) -> dict[int, dict[str, Any]]:
    rows = _leer(db, f"SELECT {_FONDO_COLS} FROM logs.Ejecucion_Fondos AS f {sql_where}", (ident,), FONDOS_TABLA)
    return {r["id_fund"]: r for r in rows}


def _filas_nuevas(db: Database, tabla: str, cols: _Columnas, fondo: dict[str, Any] | None) -> list[dict[str, Any]]:
    if fondo is None:
        return []
    return _leer(db, f"SELECT {', '.join(cols.nombres)} FROM {tabla} WHERE ID_Ejecucion = %s",
                 (fondo["id_ejecucion"],), tabla)


def _filas_legado(db: Database, tabla: str, cols: _Columnas, id_legado: int, id_fund: int,
                  codigos: dict[str, Any]) -> list[dict[str, Any]]:
    select = f"SELECT {', '.join(cols.nombres)} FROM {tabla} WHERE ID_Ejecucion = %s"
    if tabla not in CODIGOS:
        return _leer(db, f"{select} AND ID_Fund = %s", (id_legado, id_fund), tabla)
    columna, codigo = CODIGOS[tabla]
    if not codigos.get(codigo):  # the fund has no account in that source
        return []
    return _leer(db, f"{select} AND {columna} = {db.varchar()}", (id_legado, codigos[codigo]), tabla)


# --- comparing -------------------------------------------------------------------------------------------

def _numero(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


def _iguales(a: Any, b: Any, numerica: bool, tolerancia: Decimal) -> bool:
    if a is None or b is None or not numerica:
        return a == b
    return abs(_numero(a) - _numero(b)) <= tolerancia


def texto(v: Any) -> str:
    """A value as the report and the CSV show it (exact decimals, ISO dates, NULL as empty)."""
    if v is None:
        return ""
    return v.isoformat() if isinstance(v, date) else str(v)


def _clave_texto(cols: _Columnas, clave: tuple) -> str:
    return ", ".join(f"{c}={texto(v)}" for c, v in zip(cols.clave, clave, strict=True))


def _fila_texto(cols: _Columnas, fila: dict[str, Any]) -> str:
    return ", ".join(f"{c}={texto(fila[c])}" for c in cols.comparadas if c not in cols.clave)


def _emparejar(nuevas: list[dict], legadas: list[dict], iguales: Callable[[dict, dict], bool]):
    """(pairs of rows that differ, new rows left over, legacy rows left over): equal rows pair first."""
    restantes = list(legadas)
    sin_par = []
    for fila in nuevas:
        i = next((i for i, otra in enumerate(restantes) if iguales(fila, otra)), None)
        if i is None:
            sin_par.append(fila)
        else:
            restantes.pop(i)
    n = min(len(sin_par), len(restantes))
    return list(zip(sin_par[:n], restantes[:n], strict=True)), sin_par[n:], restantes[n:]


def _agrupar(filas: list[dict[str, Any]], clave: tuple[str, ...]) -> dict[tuple, list[dict[str, Any]]]:
    grupos: dict[tuple, list[dict[str, Any]]] = {}
    for f in filas:
        grupos.setdefault(tuple(f[c] for c in clave), []).append(f)
    return grupos


class _Tabla:
    """One fund's rows of one table, both sides: its summary and differences."""

    def __init__(self, fondo: Fondo, tabla: str, cols: _Columnas, tolerancia: Decimal):
        self.fondo, self.tabla, self.cols, self.tol = fondo, tabla, cols, tolerancia
        self.diferencias: list[Diferencia] = []
        self.distintas = 0

    def _dif(self, clave: str, columna: str, nuevo: Any, legado: Any, tipo: str, numerica: bool = False) -> None:
        delta = _numero(nuevo) - _numero(legado) if numerica and None not in (nuevo, legado) else None
        self.diferencias.append(Diferencia(self.fondo.id_fund, self.fondo.fundshortname, self.tabla, clave, columna,
                                           nuevo, legado, delta, tipo))

    def _iguales(self, a: dict, b: dict) -> bool:
        return all(_iguales(a[c], b[c], c in self.cols.numericas, self.tol) for c in self.cols.comparadas)

    def _clave(self, clave: tuple, nuevas: list[dict], legadas: list[dict]) -> None:
        pares, solo_n, solo_l = _emparejar(nuevas, legadas, self._iguales)
        k = _clave_texto(self.cols, clave)
        for a, b in pares:
            self.distintas += 1
            for c in self.cols.comparadas:
                if not _iguales(a[c], b[c], c in self.cols.numericas, self.tol):
                    self._dif(k, c, a[c], b[c], "valor", c in self.cols.numericas)
        for f in solo_n:
            self._dif(k, "", _fila_texto(self.cols, f), None, "solo_nuevo")
        for f in solo_l:
            self._dif(k, "", None, _fila_texto(self.cols, f), "solo_legado")
        self.distintas += len(solo_n) + len(solo_l)

    def comparar(self, nuevas: list[dict[str, Any]], legadas: list[dict[str, Any]]) -> Tabla:
        n, leg = _agrupar(nuevas, self.cols.clave), _agrupar(legadas, self.cols.clave)
        for clave in sorted(n.keys() | leg.keys(), key=lambda k: tuple(texto(v) for v in k)):
            self._clave(clave, n.get(clave, []), leg.get(clave, []))
        if len(nuevas) != len(legadas):
            self._dif("", "", len(nuevas), len(legadas), "filas", True)
        sumas = {c: (sum((_numero(f[c]) for f in nuevas if f[c] is not None), Decimal(0)),
                     sum((_numero(f[c]) for f in legadas if f[c] is not None), Decimal(0))) for c in self.cols.importes}
        for c, (a, b) in sumas.items():
            if abs(a - b) > self.tol:
                self._dif("", c, a, b, "suma", True)
        return Tabla(self.tabla, len(nuevas), len(legadas), self.distintas, sumas)


def _fondo(db: Database, columnas: dict[str, _Columnas], id_fund: int, nuevo: dict | None, legado: dict | None,
           r: Comparacion) -> Fondo:
    """One fund, table by table (one table's rows in memory at a time); its differences go to `r`."""
    info = nuevo or legado or {}
    presente = "ambos" if nuevo and legado else "solo_nuevo" if nuevo else "solo_legado"
    fondo = Fondo(id_fund, info.get("fundshortname"), nuevo["id_ejecucion"] if nuevo else None, presente)
    antes = len(r.diferencias)
    if presente != "ambos":
        r.diferencias.append(Diferencia(id_fund, fondo.fundshortname, FONDOS_TABLA, "", "", None, None, None, presente))
    for tabla in DATA_TABLES:
        t = _Tabla(fondo, tabla, columnas[tabla], r.tolerancia)
        fondo.tablas.append(t.comparar(_filas_nuevas(db, tabla, columnas[tabla], nuevo),
                                       _filas_legado(db, tabla, columnas[tabla], r.id_legado, id_fund, legado or info)))
        r.diferencias += t.diferencias
    fondo.diferencias = len(r.diferencias) - antes
    return fondo


def comparar(db: Database, fecha: date, id_proceso: int | None = None, id_legado: int | None = None,
             tolerancia: Decimal = TOLERANCIA) -> Comparacion:
    """The new proceso of `fecha` against the legacy run of `fecha`, fund by fund and table by table.

    Raises DataError (saying which side is missing and what to do) when either side is missing, SinPermiso when
    the login may not read the tables."""
    procesos = _procesos(db, fecha)
    nuevo = _proceso_nuevo(procesos, fecha, id_proceso)
    legado = _run_legado(procesos, fecha, id_legado)
    r = Comparacion(fecha, nuevo["id_proceso"], nuevo["estado"], legado["id_proceso"], legado["estado"],
                    _numero(tolerancia))
    columnas = {t: _columnas(db, t) for t in DATA_TABLES}
    nuevos = _fondos(db, "JOIN logs.Ejecuciones AS e ON e.ID_Ejecucion = f.ID_Ejecucion WHERE e.ID_Proceso = %s",
                     r.id_proceso)
    legados = _fondos(db, "WHERE f.ID_Ejecucion = %s", r.id_legado)
    for id_fund in sorted(nuevos.keys() | legados.keys()):
        r.fondos.append(_fondo(db, columnas, id_fund, nuevos.get(id_fund), legados.get(id_fund), r))
    return r


# --- reporting -------------------------------------------------------------------------------------------

def fila_csv(r: Comparacion, d: Diferencia) -> dict[str, str]:
    return dict(zip(CSV_COLUMNAS, (r.fecha.isoformat(), str(d.id_fund), d.fundshortname or "", d.tabla, d.clave,
                                   d.columna, texto(d.valor_nuevo), texto(d.valor_legado), texto(d.diferencia), d.tipo),
                    strict=True))


def escribir_csv(r: Comparacion, path: Path) -> None:
    """One line per difference (CSV_COLUMNAS); only the header when everything agrees."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNAS)
        writer.writeheader()
        writer.writerows(fila_csv(r, d) for d in r.diferencias)


def _tabla_texto(cabecera: list[str], filas: list[list[str]]) -> list[str]:
    anchos = [max([len(c)] + [len(f[i]) for f in filas]) for i, c in enumerate(cabecera)]
    return ["  ".join(c.ljust(w) for c, w in zip(f, anchos, strict=True)).rstrip()
            for f in [cabecera, ["-" * w for w in anchos], *filas]]


def formatear(r: Comparacion, detalle: int = 20) -> str:
    """The operator's report: one line per fund, then the first `detalle` differences."""
    out = [f"parallel run of {r.fecha}: proceso {r.id_proceso} ({r.estado_proceso}) vs legacy run {r.id_legado} "
           f"({r.estado_legado}), tolerance {r.tolerancia}", ""]
    out += _tabla_texto(["ID_Fund", "FundShortName", "side", "tables", "rows new", "rows legacy", "rows differing",
                         "differences"],
                        [[str(f.id_fund), (f.fundshortname or "")[:32], f.presente, str(len(f.tablas)), str(f.filas_nuevo),
                          str(f.filas_legado), str(f.filas_distintas), str(f.diferencias)] for f in r.fondos])
    if r.coincide:
        return "\n".join([*out, "", f"everything agrees: {len(r.fondos)} fund(s), {len(DATA_TABLES)} table(s) each"])
    out += ["", f"{len(r.diferencias)} difference(s) in {sum(1 for f in r.fondos if f.diferencias)} fund(s); "
                f"the first {min(detalle, len(r.diferencias))}:"]
    out += _tabla_texto(["ID_Fund", "table", "key", "column", "new", "legacy", "difference", "type"],
                        [[str(d.id_fund), d.tabla, d.clave or "-", d.columna or "-", texto(d.valor_nuevo)[:40],
                          texto(d.valor_legado)[:40], texto(d.diferencia), d.tipo] for d in r.diferencias[:detalle]])
    return "\n".join(out)


def _o_nulo(v: Any) -> str | None:
    return None if v is None else texto(v)


def como_dict(r: Comparacion, limite: int = 1000) -> dict[str, Any]:
    """The API's answer: the per-fund summary and at most `limite` differences (values as exact text)."""
    fondos = [{"id_fund": f.id_fund, "fundshortname": f.fundshortname, "id_ejecucion": f.id_ejecucion,
               "presente": f.presente, "tablas": len(f.tablas), "filas_nuevo": f.filas_nuevo,
               "filas_legado": f.filas_legado, "filas_distintas": f.filas_distintas, "diferencias": f.diferencias}
              for f in r.fondos]
    difs = [{"id_fund": d.id_fund, "fundshortname": d.fundshortname, "tabla": d.tabla, "clave": d.clave,
             "columna": d.columna, "valor_nuevo": _o_nulo(d.valor_nuevo), "valor_legado": _o_nulo(d.valor_legado),
             "diferencia": _o_nulo(d.diferencia), "tipo": d.tipo} for d in r.diferencias[:limite]]
    return {"fecha": r.fecha.isoformat(), "id_proceso": r.id_proceso, "estado_proceso": r.estado_proceso,
            "id_legado": r.id_legado, "estado_legado": r.estado_legado, "tolerancia": str(r.tolerancia),
            "coincide": r.coincide, "fondos": fondos, "total_diferencias": len(r.diferencias),
            "diferencias": difs, "truncado": len(r.diferencias) > limite}
