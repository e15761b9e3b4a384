"""backprop86: a reproduction of Rumelhart, Hinton & Williams (1986),
"Learning representations by back-propagating errors", Nature 323:533."""

from importlib.metadata import version

__version__ = version("backprop86")  # pyproject.toml's, the one place it is set
