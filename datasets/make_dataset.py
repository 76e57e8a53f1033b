"""Generate datasets/data.mat: where headers were won after our goalkeeper's kicks.

Each point is a position on the field (both coordinates in [-0.75, 0.75]) where
a header happened. Label 1 (blue) means our player won it, 0 (red) the opponent.
Our players tend to win on the upper-left side of a gently curved diagonal line
and lose on the lower-right side. Near the line the outcome is a coin toss
(Gaussian jitter around the boundary), and a few headers anywhere go the
"wrong" way (random label flips). That noise is what an unregularized network
memorizes, so it fits the training set well but generalizes worse than L2 or
dropout.

Train and test sets come from the same distribution and one seeded generator,
and the MAT-file header is fixed, so every run writes the same bytes.
Run: python datasets/make_dataset.py   (no arguments, any working directory)
"""

import io
from pathlib import Path

import numpy as np
import scipy.io

SEED = 7
N_TRAIN = N_TEST = 200
HALF_WIDTH = 0.75  # positions are uniform on [-HALF_WIDTH, HALF_WIDTH]^2
BEND = 0.25  # how far the boundary curves away from a straight line
JITTER = 0.08  # std of the coin-toss zone around the boundary
FLIP_RATE = 0.04  # fraction of headers whose outcome is flipped outright
HEADER_TEXT = b"MATLAB 5.0 MAT-file, regularization course kicks dataset"
OUT_FILE = Path(__file__).resolve().parent / "data.mat"


def boundary(x1):
    """Height of the curved dividing line above position x1."""
    return 0.8 * x1 + BEND * np.sin(3.0 * x1)


def sample_headers(rng, n):
    """Return positions (n, 2) and labels (n, 1) as float64."""
    X = rng.uniform(-HALF_WIDTH, HALF_WIDTH, size=(n, 2))
    above = X[:, 1] - boundary(X[:, 0]) + JITTER * rng.standard_normal(n) > 0
    flipped = rng.random(n) < FLIP_RATE
    y = above ^ flipped
    return X, y.astype(np.float64).reshape(n, 1)


def mat_bytes(arrays):
    """Serialize arrays with savemat, replacing its timestamped header text."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, arrays)
    data = bytearray(buffer.getvalue())
    data[:116] = HEADER_TEXT.ljust(116)  # the descriptive text is the first 116 bytes
    return bytes(data)


def main():
    rng = np.random.default_rng(SEED)
    X, y = sample_headers(rng, N_TRAIN)
    Xval, yval = sample_headers(rng, N_TEST)
    OUT_FILE.write_bytes(mat_bytes({"X": X, "y": y, "Xval": Xval, "yval": yval}))
    print(f"wrote {OUT_FILE}: {N_TRAIN} train, {N_TEST} test, {y.mean():.0%} / {yval.mean():.0%} won by us")


if __name__ == "__main__":
    main()
