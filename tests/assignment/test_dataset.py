import shutil
import subprocess
import sys

import scipy.io

from tests import COURSE_ROOT

DATA = COURSE_ROOT / "datasets" / "data.mat"


def test_generator_rewrites_the_committed_file_byte_for_byte(tmp_path):
    (tmp_path / "datasets").mkdir()
    shutil.copyfile(COURSE_ROOT / "datasets" / "make_dataset.py", tmp_path / "datasets" / "make_dataset.py")
    for _ in range(2):
        subprocess.run(
            [sys.executable, str(tmp_path / "datasets" / "make_dataset.py")], check=True, capture_output=True
        )
        assert (tmp_path / "datasets" / "data.mat").read_bytes() == DATA.read_bytes()


def test_schema():
    data = scipy.io.loadmat(DATA)
    assert data["X"].shape == (200, 2) and data["y"].shape == (200, 1)
    assert data["Xval"].shape == (200, 2) and data["yval"].shape == (200, 1)
    assert abs(data["X"]).max() <= 0.75 and sorted(set(data["y"].ravel())) == [0, 1]
