import pandas as pd
import pytest

from analysis.data import prepare_responses
from analysis.simulate import SimCondition, simulate_responses

SMALL = (
    SimCondition("control", None, 0.85, True),
    SimCondition("m-small", 125e6, 0.72),
    SimCondition("m-mid", 1.3e9, 0.62),
    SimCondition("m-large", 175e9, 0.53),
)


@pytest.fixture(scope="session")
def small_responses() -> pd.DataFrame:
    return simulate_responses(SMALL, judges_per_condition=24, n_articles=12, seed=11)


@pytest.fixture(scope="session")
def small_prepared(small_responses) -> pd.DataFrame:
    return prepare_responses(small_responses)
