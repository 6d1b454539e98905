"""Hand-written SQL rows turned into model instances (studies/selectors/rows.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from studies.models import Judge
from studies.selectors.rows import RowShape
from studies.services.assignment import judge_enter

pytestmark = pytest.mark.django_db


def _select(shape: RowShape, pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {shape.columns()} FROM studies_judge WHERE id = %s", [pk])
        return cursor.fetchone()


def test_a_full_row_loads_like_the_orm(make_live_study):
    study = make_live_study()
    judge = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
    Judge.objects.filter(pk=judge.pk).update(
        platform_meta={"a": [1, 2]}, flags=["slow"], closing={"age": "30"}
    )
    expected = Judge.objects.get(pk=judge.pk)
    shape = RowShape(Judge)
    loaded = shape.load(_select(shape, judge.pk))
    for field in Judge._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    assert loaded.platform_meta == {"a": [1, 2]}  # JSON decoded, not text
    assert loaded.last_seen_at.tzinfo is not None
    assert not loaded._state.adding and loaded.get_deferred_fields() == set()
    loaded.stage = "items"
    loaded.save(update_fields=["stage"])  # an ordinary instance: it can be saved
    assert Judge.objects.get(pk=judge.pk).stage == "items"


def test_a_partial_row_defers_the_rest_in_model_order(make_live_study):
    study = make_live_study()
    judge = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
    shape = RowShape(Judge, ["stage", "id", "token"])
    assert shape.names == ["id", "token", "stage"]  # the model's order, not the caller's
    loaded = shape.load(_select(shape, judge.pk))
    assert (loaded.pk, loaded.token, loaded.stage) == (judge.pk, judge.token, judge.stage)
    assert "platform_meta" in loaded.get_deferred_fields()
    assert loaded.platform_meta == judge.platform_meta  # loaded on first use


def test_an_unknown_column_is_named():
    with pytest.raises(ValueError, match="no column.*'tokn'"):
        RowShape(Judge, ["id", "tokn"])
