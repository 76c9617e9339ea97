"""Exceptions raised by the model objects."""

from __future__ import annotations


class NotInjectiveError(ValueError):
    """The layerwise inverse does not exist: a slope is 0 or a layer lacks full column rank.

    This says the *sufficient* layerwise criterion fails; the network may still be
    injective (``verify.injectivity.check_injective`` decides that exactly).
    """


class OffImageError(ValueError):
    """Some points handed to an inverse do not lie on the image of the map.

    Attributes
    ----------
    indices : list of int
        Rows of the input that are off the image.
    residuals : list of float
        Their relative residuals, against the tolerance ``tolerance``.
    """

    def __init__(self, message: str, indices, residuals, tolerance: float):
        super().__init__(message)
        self.indices = list(indices)
        self.residuals = list(residuals)
        self.tolerance = tolerance
