import sys

import pytest

from course import COURSE_ROOT

sys.path.insert(0, str(COURSE_ROOT))  # reg_utils, testCases, public_tests live at the course root

from tests import notebooks  # noqa: E402


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
