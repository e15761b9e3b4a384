"""backprop86: a reproduction of Rumelhart, Hinton & Williams (1986),
"Learning representations by back-propagating errors", Nature 323:533."""

__version__ = "0.1.0"
