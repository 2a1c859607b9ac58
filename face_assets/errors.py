"""Domain errors every layer may raise and every entry point knows how to show.

The store translates database failures into these, so services, the CLI and the HTTP app
never catch a driver's exception.
"""


class Rejected(Exception):
    """Input we refuse, with a stable reason code (what is counted and recorded) and a
    human detail (what the message adds)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class StoreUnavailableError(RuntimeError):
    """The database cannot be reached (down, restarting, wrong URL); nothing was changed."""


class NameTakenError(ValueError):
    """Another person already has this name."""


class InvalidNameError(ValueError):
    """A person's name that is empty, invisible or too long once normalised."""


class ConflictError(RuntimeError):
    """Another request changed the same data at the same moment (a serialisation failure or
    a deadlock that kept happening after the bounded retries, or a version check that
    failed): nothing was changed; read again and retry. `current` is what is there now."""

    def __init__(self, message: str, current: dict | None = None) -> None:
        super().__init__(message)
        self.current = current or {}


class TransientConflictError(ConflictError):
    """A conflict worth retrying at once (serialisation failure, deadlock, a locked row that
    vanished under us): Store.run retries these a bounded number of times."""
