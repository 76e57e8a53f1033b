import pytest

from tests import notebooks


def pytest_collection_modifyitems(items):
    """Tests that need the whole source notebook run (training included) are slow too. Files with slow
    tests go first, so that the two test processes (one file each at a time) do not end on a long file
    while the other has nothing left."""
    for item in items:
        if "executed_source" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


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
