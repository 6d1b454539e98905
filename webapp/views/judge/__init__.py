"""The judge's pages (see ``webapp/urls_judge.py``)."""

from webapp.views.judge.entry import enter, launch
from webapp.views.judge.steps import (
    closing,
    consent,
    debrief,
    finish,
    instructions,
    item,
    practice,
    practice_feedback,
    signal,
)

__all__ = [
    "closing",
    "consent",
    "debrief",
    "enter",
    "finish",
    "instructions",
    "item",
    "launch",
    "practice",
    "practice_feedback",
    "signal",
]
