"""Domain errors every layer may raise and every entry point knows how to show.

The store translates database failures into these, so services, the CLI and the HTTP app
never catch a driver's exception.
"""


class StoreUnavailableError(RuntimeError):
    """The database cannot be reached (down, restarting, wrong URL); nothing was changed."""


class NameTakenError(ValueError):
    """Another person already has this name."""


class InvalidNameError(ValueError):
    """A person's name that is empty, invisible or too long once normalised."""
