"""repolicy: executable repository policy for machine-learning repositories."""

__version__ = "0.1.0"

# The package's other modules are read from one file from here on (see `bundle`).
from repolicy import bundle as _bundle

_bundle.install()
