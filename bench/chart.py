"""The benchmark's picture: the per-fund timeline of the last procesos_diarios run, and the ratio."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

COLOURS = {"ipa": "#4C72B0", "capm": "#55A868", "derivados": "#C44E52", "ubs": "#8172B2", "pnl": "#CCB974"}


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def draw(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tis = [ti for ti in result["timeline"] if ti.get("start_date") and ti.get("end_date")]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 7), gridspec_kw={"width_ratios": [3, 1]})
    if tis:
        t0 = min(_t(ti["start_date"]) for ti in tis)
        seen = set()
        for ti in tis:
            stage = ti["task_id"].rsplit(".", 1)[-1]
            start = (_t(ti["start_date"]) - t0).total_seconds()
            length = max((_t(ti["end_date"]) - _t(ti["start_date"])).total_seconds(), 0.05)
            row = ti["map_index"] if ti["map_index"] >= 0 else (-1 if stage == "crear_proceso" else result["funds"])
            label = stage if stage not in seen else None
            seen.add(stage)
            ax.barh(row, length, left=start, height=0.8, color=COLOURS.get(stage, "#777777"), label=label)
        ax.set_xlabel("seconds since the run's first task started")
        ax.set_ylabel("fund (map index); -1 crear_proceso, last row cerrar_proceso")
        ax.invert_yaxis()
        ax.legend(loc="upper right", fontsize=8)  # above the last stages: nothing runs there
    ax.set_title(f"procesos_diarios, last round: {result['funds']} funds x {result['positions']} positions, "
                 f"{result['executor']}")

    floor, real = result["noop_median_s"], result["real_median_s"]
    bars = bx.bar(["no-op DAG\n(floor)", "procesos_diarios"], [floor, real], color=["#999999", "#4C72B0"])
    bx.bar_label(bars, labels=[f"{floor:.1f} s", f"{real:.1f} s"])
    bx.set_ylabel("median run time (s)")
    bx.set_title(f"ratio {result['ratio']:.2f}; {result['funds_per_hour']:.0f} funds/hour\n"
                 f"(plan: baseline 120/h, goal 300/h)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
