import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# Browser fixtures (a real streamlit server and headless chromium), shared by the browser tests.
from tests.browser import browser, server  # noqa: E402, F401
