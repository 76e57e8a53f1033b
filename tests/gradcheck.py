"""How far an analytic gradient is from public_tests.numeric_gradient's finite differences, CS231n style."""

import numpy as np


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)
