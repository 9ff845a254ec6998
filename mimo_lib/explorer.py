"""Browse the reconstructions of an evaluation: subject, window and modality.

:class:`ReconstructionExplorer` wraps an :class:`~mimo_lib.evaluation.evaluate.Evaluation`.
``explorer.widget`` is an ipywidgets panel (dropdowns and a slider redrawing one
figure); ``explorer.figure(subject, window, modality)`` draws the same view without
widgets, and ``explorer.static_figure()`` shows one window per subject for readers
whose notebook viewer does not render widgets (papermill copies, GitHub).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from mimo_lib.plots.reconstruction import plot_reconstructions

if TYPE_CHECKING:
    import ipywidgets

    from mimo_lib.evaluation.evaluate import Evaluation

ALL = "all modalities"


class ReconstructionExplorer:
    """Target windows beside the model's and the baseline's reconstructions."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.windows = evaluation.windows
        self.subjects = list(dict.fromkeys(np.asarray(self.windows.subjects).astype(str)))
        self.reconstructions = {
            evaluation.methods[0]: evaluation.reconstruction,
            evaluation.methods[1]: evaluation.baseline_reconstruction,
        }

    def indices(self, subject: str) -> np.ndarray:
        """Window indices of ``subject``, in recording order."""
        found = np.flatnonzero(np.asarray(self.windows.subjects).astype(str) == subject)
        if not len(found):
            raise KeyError(f"subject {subject!r} has no windows in this split; subjects: {self.subjects}")
        return found[np.argsort(self.windows.starts[found], kind="stable")]

    def figure(self, subject: str, window: int = 0, modality: str = ALL) -> Figure:
        """One window of ``subject`` (``window`` counts that subject's windows), one or all modalities."""
        indices = self.indices(subject)
        if not 0 <= window < len(indices):
            raise IndexError(f"subject {subject!r} has {len(indices)} windows; window {window} does not exist")
        index = indices[window]
        names = self.windows.modalities if modality == ALL else [modality]
        if modality != ALL and modality not in self.windows.modalities:
            raise KeyError(f"unknown modality {modality!r}; modalities: {self.windows.modalities}")
        columns = [self.windows.modalities.index(name) for name in names]
        pick = np.ix_([index], columns)
        return plot_reconstructions(
            self.windows.windows[pick], {label: values[pick] for label, values in self.reconstructions.items()},
            names, self.windows.rate, indices=[0], titles=[f"{subject} @ {self.windows.starts[index]:.0f} s"],
        )

    def static_figure(self, reconstructions: dict[str, np.ndarray] | None = None) -> Figure:
        """The middle window of every subject, all modalities: the explorer's view without widgets.

        ``reconstructions`` (label -> ``(N, M, T)``) replaces the model's and the baseline's.
        """
        picks = [self.indices(subject)[len(self.indices(subject)) // 2] for subject in self.subjects]
        titles = [f"{self.windows.subjects[i]} @ {self.windows.starts[i]:.0f} s" for i in picks]
        return plot_reconstructions(
            self.windows.windows, reconstructions or self.reconstructions, self.windows.modalities,
            self.windows.rate, indices=picks, titles=titles,
        )

    @property
    def widget(self) -> ipywidgets.Widget:
        """Dropdowns for subject and modality and a slider over the subject's windows, above the figure."""
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        subject = widgets.Dropdown(options=self.subjects, description="subject")
        modality = widgets.Dropdown(options=[ALL, *self.windows.modalities], description="modality")
        window = widgets.IntSlider(0, 0, len(self.indices(self.subjects[0])) - 1, description="window")
        output = widgets.Output()

        def redraw(_change: object = None) -> None:
            window.max = len(self.indices(subject.value)) - 1
            with output:
                output.clear_output(wait=True)
                figure = self.figure(subject.value, window.value, modality.value)
                display(figure)
                plt.close(figure)

        for control in (subject, modality, window):
            control.observe(redraw, names="value")
        redraw()
        return widgets.VBox([widgets.HBox([subject, modality, window]), output])
