import pytest

from tests import notebooks


def pytest_collection_modifyitems(items):
    """Tests that need the whole source notebook run (training included) are slow too."""
    for item in items:
        if "executed_source" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def solutions():
    return notebooks.reference_solutions()


@pytest.fixture(scope="session")
def executed_source():
    """The source notebook, run once for the whole session."""
    return notebooks.execute(notebooks.SOURCE_NOTEBOOK)


@pytest.fixture(scope="session")
def executed_release():
    """The untouched student release, run once for the whole session."""
    return notebooks.execute(notebooks.RELEASE_NOTEBOOK)
