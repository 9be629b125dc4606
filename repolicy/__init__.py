"""repolicy: executable repository policy for machine-learning repositories."""

__version__ = "0.1.0"
