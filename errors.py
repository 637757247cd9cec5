"""User-facing errors.

Every failure a user can cause (bad model, bad hardware file, bad IR, infeasible
layer, ...) is raised as a :class:`MiredoError`. The console tools catch it and
print exactly one line, ``<where>: error: <what>``, then exit non-zero.
"""


class MiredoError(Exception):
    """An error caused by user input, reported as one line without a traceback."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.message = message
        """What went wrong and, where possible, what to do about it."""
        self.where = where
        """The file, ONNX node, IR op or YAML field it concerns."""

    def __str__(self) -> str:
        if self.where:
            return f"{self.where}: error: {self.message}"
        return f"error: {self.message}"
