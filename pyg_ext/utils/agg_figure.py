r"""A matplotlib figure on the Agg canvas (no display needed), with fixed margins."""


def agg_figure(rows: int, cols: int, width: float, height: float):
    r"""A figure of ``rows x cols`` panels, each ``width x height`` inches, on matplotlib's
    Agg canvas; returns ``(figure, axes)`` with ``axes`` a ``[rows, cols]`` array.

    The margins are fixed in inches rather than left to a layout engine, which costs about
    a second per figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * cols, height * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    w, h = width * cols, height * rows
    fig.subplots_adjust(left=0.8 / w, right=1 - 0.2 / w, bottom=0.6 / h, top=1 - 0.4 / h,
                        hspace=0.45, wspace=0.3)
    return fig, axes
