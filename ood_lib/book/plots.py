"""Figure helpers shared by the chapters: the book's one seaborn theme, PNG output, image grids,
shared-bin histograms, closing figures after display."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns


def use_png_figures() -> None:
    """Set the book's seaborn theme; inline figures as PNG only (no SVG), readable resolution; Agg outside notebooks."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        set_matplotlib_formats("png")
    else:
        matplotlib.use("Agg")
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 90, "figure.max_open_warning": 0})


def show(fig: plt.Figure) -> None:
    """Display ``fig`` (inline in a notebook) and close it so figures never pile up."""
    try:
        from IPython.display import display

        display(fig)
    finally:
        plt.close(fig)


def image_grid(x_uint8: np.ndarray, n_rows: int, n_cols: int, pad: int = 1) -> np.ndarray:
    """Tile the first ``n_rows * n_cols`` images ``(N, H, W, C)`` into one ``(rows*H', cols*W', C)`` array."""
    count = n_rows * n_cols
    if x_uint8.ndim != 4 or len(x_uint8) < count:
        raise ValueError(f"Need at least {count} images (N, H, W, C), got shape {x_uint8.shape}.")
    _, height, width, channels = x_uint8.shape
    grid = np.full((n_rows * (height + pad) + pad, n_cols * (width + pad) + pad, channels), 255, dtype=np.uint8)
    for index in range(count):
        row, col = divmod(index, n_cols)
        top, left = pad + row * (height + pad), pad + col * (width + pad)
        grid[top : top + height, left : left + width] = x_uint8[index]
    return grid


def imshow_uint8(ax: plt.Axes, image: np.ndarray, title: str | None = None) -> matplotlib.image.AxesImage:
    """Show a ``(H, W, C)`` uint8 image (gray colormap on 0..255 when C == 1) without axes; return the
    image, e.g. for ``fig.colorbar``."""
    gray = image.shape[-1] == 1
    shown = ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255) if gray else ax.imshow(image)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return shown


def shared_bins(arrays: list[np.ndarray], count: int = 60, clip_percent: float = 0.5) -> np.ndarray:
    """``count + 1`` bin edges shared by all ``arrays``, spanning their pooled central range.

    The pooled ``clip_percent`` and ``100 - clip_percent`` percentiles bound the bins, so one
    far outlier does not squeeze every histogram into a few bins.
    """
    pooled = np.concatenate([np.asarray(values, dtype=np.float64).ravel() for values in arrays])
    low, high = np.percentile(pooled, [clip_percent, 100.0 - clip_percent])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, count + 1)


def histograms(
    ax: plt.Axes,
    samples: dict[str, np.ndarray],
    bins: np.ndarray,
    xlabel: str,
    title: str | None = None,
    outlines: bool = False,
) -> None:
    """Density histograms of each labelled sample on the same ``bins`` (seaborn ``histplot``);
    ``outlines`` draws unfilled steps, which stay readable when four or more samples overlap."""
    for label, values in samples.items():
        style = {"element": "step", "fill": False} if outlines else {"alpha": 0.5, "edgecolor": "none"}
        sns.histplot(x=np.asarray(values), bins=bins, stat="density", label=label, ax=ax, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    ax.legend()


def training_curves(ax: plt.Axes, history: dict, title: str) -> None:
    """Mean BPD at each evaluation of a training run (``TrainedModel.history``): train, test, OOD test sets."""
    from ood_lib import data

    for key, values in history["eval"].items():
        label = key if key in ("train", "test") else f"{data.get_spec(key).title} test (OOD)"
        ax.plot(history["step"][: len(values)], values, marker="o", markersize=3, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("mean bits per dimension")
    ax.set_title(title)
    ax.legend()
