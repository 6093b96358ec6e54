"""The printed table, the header above it and the PNG chart."""
from timing import fmt_rows

SECTIONS = {
    1: "lookups on the embedded data vs dict.get on a dict of the same objects",
    2: "aggregations on the embedded data vs pure Python over a list of tuples",
    3: "aggregations on the embedded data vs pandas on to_frame()",
    4: "import time and the embedded parse",
    5: "load() of a generated panel file: two threads, one thread, the peers",
    6: "load() of a panel in the full data/ format (every column) vs the peers",
    7: "peak memory of a load (fresh process each)",
    8: "aggregation over the loaded panel",
    9: "export to pyarrow of a panel of every column",
    10: "to_frame() of a panel of every column, with and without pyarrow",
    11: "time per row of load + aggregate as the panel grows",
}


def render_table(rows):
    head = ("#", "measurement", "rows", "ours", "peer", "peer's", "result", "target", "status")
    body = []
    for r in rows:
        body.append((str(r["section"]), r["measurement"], fmt_rows(r["rows"]), r["ours"] or "-",
                     r["peer"], r["peer_value"] or "-", r["result"], r["target"], r["status"]))
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    right = {0, 2, 3, 5}

    def line(cells):
        out = []
        for i, c in enumerate(cells):
            out.append(c.rjust(widths[i]) if i in right else c.ljust(widths[i]))
        return "  ".join(out).rstrip()
    lines = [line(head), line(["-" * w for w in widths])]
    last = None
    for r, cells in zip(rows, body):
        if last is not None and r["section"] != last:
            lines.append("")
        last = r["section"]
        lines.append(line(cells))
    return "\n".join(lines)


def write_png(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if r["status"] in ("MET", "MISSED") and r.get("speedup")]
    labels = ["%s  vs %s%s" % (r["measurement"], r["peer"],
                               "  @%s" % fmt_rows(r["rows"]) if r["rows"] else "")
              for r in shown]
    vals = [r["speedup"] for r in shown]
    goals = [r.get("goal") for r in shown]
    colors = ["#2e7d32" if r["status"] == "MET" else "#c62828" for r in shown]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(shown) + 1.6))
    y = list(range(len(shown)))[::-1]
    ax.barh(y, vals, color=colors, height=0.6)
    for yi, g in zip(y, goals):
        if g:
            ax.plot([g, g], [yi - 0.4, yi + 0.4], color="black", linewidth=2)
    for yi, v in zip(y, vals):
        ax.text(v * 1.08, yi, "%.3g" % v, va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("how many times better shanxi is (peer / ours, or budget / ours; log scale)\n"
                  "black tick: the target; green: met, red: missed")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
