"""The examples in the generator's docstrings run and stay true."""

import doctest
import importlib

import pytest

MODULES = ["text", "prompts", "plan", "selection", "contamination", "registry"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"generator.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
