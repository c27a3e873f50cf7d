"""The end-to-end tests' one fixture: the session's build, waited for once per module."""

import pytest

from e2e.build import E2E


@pytest.fixture(scope="module")
def build():
    return E2E.wait()
