// The Fondos board: one proceso's funds x stages, from /fondos/api; Retry fund through Airflow's /api/v2.
// Plain JavaScript served by the plugin (no framework, no CDN). Requests carry the Airflow UI's session
// cookie, so the API server authenticates them as the logged-in user.
"use strict";

const ROOT = location.pathname.replace(/fondos\/board\/.*$/, "");  // Airflow's base path, usually "/"
const API = ROOT + "fondos/api";
const AIRFLOW = ROOT + "api/v2";
const POLL_MS = 3000;
const $ = (id) => document.getElementById(id);
let current = null;      // the proceso shown
let following = null;    // {dag_id, run_id} of a run being followed
let timer = null;
let generation = 0;      // each follow() loop carries its generation; an older loop stops
let selected = null;     // {fund, etapa} of the cell whose detail is open

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${r.status}: ${typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body)}`);
  return body;
}

function say(text, error = false) {
  const a = $("aviso");
  a.textContent = text || "";
  a.className = error ? "error" : "";
}

function seconds(s) {
  if (s === null || s === undefined) return "";
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

async function load(fecha) {
  try {
    const list = await getJSON(`${API}/procesos?limit=1` + (fecha ? `&fecha=${encodeURIComponent(fecha)}` : ""));
    if (!list.length) {
      current = null;
      $("resumen").textContent = fecha ? `No proceso for ${fecha}.` : "No proceso yet.";
      $("matriz").replaceChildren(); $("metricas").replaceChildren();
      return;
    }
    $("fecha").value = list[0].fechareporte;
    await show(list[0].id_proceso);
  } catch (e) {
    say(`Could not read the procesos: ${e.message}`, true);
  }
}

async function show(id) {
  const p = await getJSON(`${API}/procesos/${id}`);
  current = p;
  render(p);
  await follow();
}

function render(p) {
  const r = $("resumen");
  r.replaceChildren(
    el("strong", {}, `Proceso ${p.id_proceso} · ${p.fechareporte} · `),
    el("span", { id: "estado-proceso", class: p.estado, "data-estado": p.estado }, p.estado),
    ` · ${p.totalfondos} funds: ${p.fondosexitosos} OK, ${p.fondosfallidos} failed, ${p.fondosenprogreso} running`,
    p.fondoslegado !== null && p.fondoslegado !== undefined ? el("span", { id: "arquitectura" }, ` · ${p.fondoslegado} with the legacy writer (v2)`) : "",
    p.duracionsegundos !== null ? ` · ${seconds(p.duracionsegundos)}` : "",
    p.airflow ? el("span", {}, " · Airflow run ", el("a", { href: `${ROOT}dags/${p.airflow.dag_id}/runs/${encodeURIComponent(p.airflow.run_id)}`, target: "_top" }, p.airflow.run_id)) : "",
    p.legado ? " · legacy history (read-only)" : "",
  );
  renderMetricas(p.metricas);
  renderAlertas(p.alertas || []);
  renderFirma(p.firma);
  const head = el("tr", {}, el("th", {}, "Fund"), el("th", {}, "Estado"),
    ...p.etapas.map((s) => el("th", {}, s)), ...(p.firma ? [el("th", {}, "Checks")] : []), el("th", {}, ""));
  const rows = p.ejecuciones.map((f) => {
    const cells = p.etapas.map((s) => {
      const e = f.etapas.find((x) => x.etapa === s);
      if (!e) return el("td", {}, "");
      return el("td", { class: `etapa ${e.estado}`, "data-fund": f.id_fund, "data-stage": s, "data-estado": e.estado,
        title: e.mensaje || e.estado, onclick: () => detail(f, e) },
        e.estado, el("small", {}, [e.filas !== null ? `${e.filas} rows` : "", seconds(e.segundos)].filter(Boolean).join(" · ")));
    });
    const failed = f.etapas.filter((e) => e.estado === "ERROR" && e.task_id);
    const action = failed.length && p.airflow && !p.legado
      ? el("button", { class: "retry", type: "button", "data-retry-fund": f.id_fund, onclick: (ev) => retry(f, failed, ev.target) }, "Retry fund")
      : "";
    // the plausibility checks (030): HELD funds are not published; each check's reason in the cell's title
    const checks = p.firma ? [el("td", { class: `checks ${f.verificacion || ""}`, "data-checks": f.verificacion || "",
      title: (f.controles || []).map((c) => `${c.control} ${c.estado}: ${c.razon}`).join("\n") +
        (f.aceptadopor ? `\naccepted by ${f.aceptadopor}: ${f.motivoaceptacion}` : "") },
      CHECKS[f.verificacion] || "-", el("small", {}, f.publicado ? "published" : "not published"))] : [];
    return el("tr", { "data-fund-row": f.id_fund, "data-estado": f.estado },
      el("td", {}, `${f.id_fund} ${f.fundshortname}`), el("td", { class: f.estado }, f.estado),
      ...cells, ...checks, el("td", {}, action));
  });
  $("matriz").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  // the open detail follows the data (a retried fund's message changes with it)
  const f = selected && p.ejecuciones.find((x) => x.id_fund === selected.fund);
  const e = f && f.etapas.find((x) => x.etapa === selected.etapa);
  if (e) detail(f, e); else { $("detalle").hidden = true; selected = null; }
}

const CHECKS = { OK: "OK", SIN_COMPARACION: "no comparison", RETENIDO: "HELD", ACEPTADO: "accepted", PENDIENTE: "not run" };

function renderFirma(s) {
  // where the four-eyes sign-off stands (030): the latest decision, or who it waits for
  if (!s) { $("firma").replaceChildren(); return; }
  const d = s.decisiones[0];
  const text = s.estado === "APROBADO" ? `approved by ${d.usuario} at ${d.fechafirma}${d.comentario ? `: ${d.comentario}` : ""}`
    : s.estado === "RECHAZADO" ? `REJECTED by ${d.usuario} at ${d.fechafirma}: ${d.comentario}`
    : s.estado === "PENDIENTE" ? `awaiting the approval of ${s.aprobadores.join(", ")}`
    : "no sign-off configured (FONDOS_APROBADORES): nothing is published";
  $("firma").replaceChildren(el("span", {}, "Sign-off: "),
    el("strong", { id: "firma-estado", class: s.estado, "data-firma": s.estado }, text),
    ` · ${s.publicados} fund(s) published · ${s.retenidos} held`);
}

function renderAlertas(alertas) {
  // the plan's rollback triggers that fired for this proceso (029): what fired it and the plan's action
  $("alertas").replaceChildren(...alertas.map((a) => el("div", { class: "alerta", "data-disparador": a.disparador },
    el("strong", {}, `Rollback trigger ${a.disparador}`), ` (message ${a.envio}): ${a.detalle}`,
    el("div", {}, `What to do: ${a.accion}`))));
}

function renderMetricas(m) {
  const box = $("metricas");
  if (!m) { box.replaceChildren(); return; }
  const cls = (x) => x.replace(/ /g, "-");
  const rows = m.metricas.map((x) => el("tr", {}, el("td", {}, x.nombre), el("td", {}, x.mostrado),
    el("td", {}, x.objetivo), el("td", {}, x.tolerancia), el("td", { class: cls(x.resultado) }, x.resultado)));
  box.replaceChildren(
    el("div", {}, "Plan metrics: ", el("strong", { id: "veredicto", class: cls(m.veredicto), "data-veredicto": m.veredicto }, m.veredicto)),
    m.metricas.length ? el("table", {}, el("thead", {}, el("tr", {}, ...["Metric", "Value", "Target", "Tolerance", "Result"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)) : el("div", {}, m.texto),
  );
}

function detail(f, e) {
  selected = { fund: f.id_fund, etapa: e.etapa };
  const d = $("detalle");
  d.hidden = false;
  const link = e.log_url
    ? el("a", { id: "log-link", href: ROOT + e.log_url.replace(/^\//, ""), target: "_top" }, "Open this task's log in Airflow")
    : "(no Airflow task: legacy history)";
  d.replaceChildren(
    el("h2", {}, `Fund ${f.id_fund} ${f.fundshortname} · ${e.etapa}: ${e.estado}`),
    el("p", { id: "detalle-mensaje" }, e.mensaje || "No message."),
    el("p", {}, `Attempts ${e.intentos ?? "-"} · start ${e.inicio ?? "-"} · end ${e.fin ?? "-"} · rows ${e.filas ?? "-"} · ID_Ejecucion ${f.id_ejecucion}` +
      (f.map_index !== null ? ` · map index ${f.map_index}` : "")),
    link,
  );
}

async function retry(f, failed, button) {
  button.disabled = true;
  const run = current.airflow;
  const body = { dag_run_id: run.run_id, task_ids: failed.map((e) => [e.task_id, f.map_index]),
    include_downstream: true, only_failed: true, dry_run: false };
  try {
    const r = await fetch(`${AIRFLOW}/dags/${encodeURIComponent(run.dag_id)}/clearTaskInstances`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
    const out = await r.json().catch(() => ({}));
    if (!r.ok) {
      const why = r.status === 403 ? "Airflow refused: your user may not clear this DAG's tasks" : (out.detail ? JSON.stringify(out.detail) : r.statusText);
      throw new Error(`${r.status} ${why}`);
    }
    const n = (out.task_instances || []).length;
    say(`Retry of fund ${f.id_fund} requested: Airflow cleared ${n} task instance(s) (${failed.map((e) => e.etapa).join(", ")} with downstream). Following the run…`);
    following = run;
    await follow();
  } catch (e) {
    button.disabled = false;
    say(`Retry of fund ${f.id_fund} failed: ${e.message}`, true);
  }
}

// Follow the run live: while Airflow's run is queued or running (or the proceso is EN_PROGRESO), reload.
async function follow() {
  clearTimeout(timer);
  const mine = ++generation;
  if (!current) return;
  let active = current.estado === "EN_PROGRESO";
  const run = following || (active ? current.airflow : null);
  if (run) {
    try {
      const r = await getJSON(`${AIRFLOW}/dags/${encodeURIComponent(run.dag_id)}/dagRuns/${encodeURIComponent(run.run_id)}`);
      active = active || ["queued", "running"].includes(r.state);
      if (!active && following) {
        following = null;
        current = await getJSON(`${API}/procesos/${current.id_proceso}`);
        render(current);
        say(`The run ended: ${r.state}. Fund states below are the database's.`);
      }
    } catch (e) {
      say(`Could not read the Airflow run: ${e.message}`, true);
    }
  }
  if (mine !== generation) return;  // another date or a newer loop took over while this one waited
  $("live").hidden = !active;
  if (active) timer = setTimeout(async () => {
    try {
      const fresh = await getJSON(`${API}/procesos/${current.id_proceso}`);
      if (mine !== generation) return;
      current = fresh;
      render(current);
    } catch (e) { say(e.message, true); }
    if (mine === generation) follow();
  }, POLL_MS);
}

$("fecha").addEventListener("change", (ev) => { following = null; selected = null; load(ev.target.value); });
$("recargar").addEventListener("click", () => current ? show(current.id_proceso) : load($("fecha").value));
load(new URLSearchParams(location.search).get("fecha"));
