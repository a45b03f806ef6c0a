import numpy as np
import pytest
from hypothesis import settings

# Helpers that several test modules share live in tests/helpers.py (models, files) and
# tests/app_helpers.py (driving pages in AppTest); test modules import them from there, never
# from one another.
from tests import app_helpers, helpers  # noqa: F401

# No wall-clock deadline for hypothesis: the machines are shared and noisy, and tests never
# assert on time (a slow example is not a failing one).
settings.register_profile("gruviz", deadline=None)
settings.load_profile("gruviz")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# Browser fixtures (a real streamlit server and headless chromium), shared by the browser tests.
from tests.browser import browser, opened, server  # noqa: E402, F401
