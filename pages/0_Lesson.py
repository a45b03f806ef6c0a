"""Lesson: seven steps through the GRU, each a prediction to make before the plot is shown."""

from gru_viz.ui import frame
from gru_viz.ui.lesson import lesson_view

frame("Lesson", "🎓")
lesson_view()
