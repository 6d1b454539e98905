import pytest

from studies.protocol import STAGE_ORDER, Protocol, Stage, is_correct, next_stage


def test_stage_order_with_and_without_practice():
    def walk(practice):
        stage, seen = Stage.CONSENT, [Stage.CONSENT]
        while stage != Stage.DONE:
            stage = next_stage(stage, practice=practice)
            seen.append(stage)
        return seen

    assert walk(True) == list(STAGE_ORDER)
    assert walk(False) == [s for s in STAGE_ORDER if s != Stage.PRACTICE]
    assert next_stage("done", practice=True) == "done"
    assert next_stage("no-such-stage", practice=True) == "done"


@pytest.mark.parametrize(
    ("rating", "is_machine", "expected"),
    [
        (1, False, True),
        (2, False, True),
        (1, True, False),
        (4, True, True),
        (5, True, True),
        (5, False, False),
        (3, True, None),
        (3, False, None),
        (None, True, None),
    ],
)
def test_single_protocol_scoring(rating, is_machine, expected):
    assert is_correct(Protocol.SINGLE, rating, None, is_machine) is expected


@pytest.mark.parametrize(
    ("choice", "human_side", "expected"),
    [("left", "left", True), ("right", "left", False), ("", "left", None), (None, "right", None)],
)
def test_paired_protocol_scoring(choice, human_side, expected):
    assert is_correct("paired", None, choice, human_side) is expected


def test_members_are_their_strings():
    assert Protocol.PAIRED == "paired" and f"{Stage.ITEMS}" == "items"
    assert {"single": 1}[Protocol.SINGLE] == 1


def test_every_stage_has_a_judge_page():
    from webapp.views.judge.common import STAGE_VIEWS

    assert list(STAGE_VIEWS) == list(STAGE_ORDER)
