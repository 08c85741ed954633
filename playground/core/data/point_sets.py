"""The names of the 2-D points datasets and their plane (no NumPy: the graph's checks and `playground inspect` read
them).

The points themselves, their generators and CSV files are points.py's.
"""

EXTENT = 6.0  # the input plane is [-EXTENT, EXTENT]² (TensorFlow Playground's)
CLASSIFICATION_SETS = {"circle": "Circle", "xor": "XOR", "gaussians": "Two Gaussians", "spiral": "Spiral",
                       "moons": "Moons"}
REGRESSION_SETS = {"plane": "Plane (regression)", "gaussian": "Gaussian (regression)"}
OWN_POINTS = "own-points"  # the document's points: drawn on the Decision view or loaded from a CSV file
POINT_SETS = {**CLASSIFICATION_SETS, **REGRESSION_SETS, OWN_POINTS: "Your own points"}


def is_points_dataset(name: str) -> bool:
    return name in POINT_SETS


def is_regression_set(name: str) -> bool:
    return name in REGRESSION_SETS
