"""The judge protocol: the study's vocabulary, the order of a judge's stages, and scoring.

Standard library only, so that ``analysis`` (which never imports Django) may use it too.
Every value is a ``StrEnum``: a member equals its string (``Protocol.PAIRED == "paired"``),
so rows, specs and JSON keep plain strings and old comparisons keep working.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    CONSENT = "consent"
    INSTRUCTIONS = "instructions"
    PRACTICE = "practice"
    ITEMS = "items"
    CLOSING = "closing"
    DONE = "done"


class Protocol(StrEnum):
    SINGLE = "single"  # one text, rated on the five-point scale
    PAIRED = "paired"  # a human and a machine text side by side: which is the human's?


class Design(StrEnum):
    BETWEEN = "between"  # each judge sees one condition
    WITHIN = "within"  # each judge sees every condition


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


class Platform(StrEnum):
    LINK = "link"
    PROLIFIC = "prolific"
    MTURK = "mturk"


# A judge's way through a study; practice only when the study has it.
STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

# The paper's five-point scale: 1-2 say human, 3 is "don't know", 4-5 say machine.
NEUTRAL_RATING = 3
MACHINE_RATINGS = (4, 5)
HUMAN_RATINGS = (1, 2)


def next_stage(stage: str, *, practice: bool) -> Stage:
    """The stage after ``stage``; the last stage (and anything unknown) leads to done.

    >>> next_stage("instructions", practice=False)
    <Stage.ITEMS: 'items'>
    """
    try:
        index = STAGE_ORDER.index(Stage(stage))
    except ValueError:
        return Stage.DONE
    for following in STAGE_ORDER[index + 1 :]:
        if following is Stage.PRACTICE and not practice:
            continue
        return following
    return Stage.DONE


def is_correct(
    protocol: str, rating: float | None, choice: str | None, truth: bool | str | None
) -> bool | None:
    """Whether an answer detected the truth; None when it says nothing either way.

    ``truth`` is whether the text is the machine's (single protocol) or the side the
    human text was on (paired). A rating of 3 ("don't know"), no rating, or no choice
    is neither right nor wrong.

    >>> is_correct("single", 5, None, True), is_correct("single", 3, None, True)
    (True, None)
    >>> is_correct("paired", None, "left", "right")
    False
    """
    if protocol == Protocol.PAIRED:
        return (choice == truth) if choice else None
    if rating is None or rating == NEUTRAL_RATING:
        return None
    return (rating >= min(MACHINE_RATINGS)) == bool(truth)
