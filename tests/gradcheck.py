"""Centred finite differences, CS231n style: compare an analytic gradient with the numeric one."""
import numpy as np


def numeric_gradient(f, x, h=1e-6):
    """d f / d x for a scalar function f of the array x (perturbed in place, then restored)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        plus = f()
        x[index] = saved - h
        minus = f()
        x[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)
