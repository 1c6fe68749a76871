"""The scaling curves, drawn from a run's own figures."""

from __future__ import annotations

from typing import Any

STYLE = {
    "database backend": ("tab:blue", "o", "-"),
    "PostgreSQL INSERT ... SELECT": ("tab:blue", "s", ":"),
    "PostgreSQL hand-written SQL": ("tab:blue", "s", ":"),
    "redis backend": ("tab:red", "o", "-"),
    "Redis pipelined ZADD": ("tab:red", "s", ":"),
    "Redis Lua per chunk": ("tab:red", "^", "--"),
    "Redis ZREVRANGEBYLEX + MGET": ("tab:red", "s", ":"),
    "django-activity-stream user_stream": ("tab:gray", "D", "-."),
}


def draw(series: dict[str, Any], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    # Label only the minor ticks 2 and 5 of each decade, so they stay apart.
    sparse = FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}".lstrip("0.")[:1] in ("2", "5") else "")

    panels = [
        ("fanout", "Fan-out: one activity to F followers", "followers F"),
        ("read_first", "Timeline read: first page of 25", "feeds followed"),
        ("read_deep", "Timeline read: deep page (id_lt)", "feeds followed"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 5.2))
    for ax, (name, label, xlabel) in zip(axes, panels):
        for line, points in series.get(name, {}).items():
            xs = sorted(int(x) for x in points)
            ys = [points[x] * 1000 if x in points else points[str(x)] * 1000 for x in xs]
            color, marker, dash = STYLE.get(line, ("black", "x", "-"))
            ax.plot(xs, ys, color=color, marker=marker, linestyle=dash, label=line)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(plain)
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(sparse)
        ax.set_title(label, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("median time (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
