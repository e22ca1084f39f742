"""The one exception family of the connector.

Every error a user can cause is a `ConnectorError`; the CLI turns it into a message and exit code 2,
the web layer (later) into a 4xx JSON body. Anything else escaping is a bug.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of all expected errors; `where` names the place (file, line, JSON pointer, field)."""

    http_status = 400

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class BadInput(ConnectorError):
    """Input that is malformed or out of range (a naive datetime, negative hours, a bad file)."""


class ValidationFailed(ConnectorError):
    """A document failed its JSON Schema or a reference check; `problems` lists every one."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class Unauthorized(ConnectorError):
    """A webhook whose signature or token is missing or wrong."""

    http_status = 401


class NotFound(ConnectorError):
    """A platform that is not configured (or not known)."""

    http_status = 404


class PayloadTooLarge(ConnectorError):
    """A request body over the limit."""

    http_status = 413


class PlatformError(ConnectorError):
    """A call to a ticketing platform's API failed; `transient` ones are retried."""

    transient = True

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class PlatformRejected(PlatformError):
    """The platform refused the call for good (4xx other than 429): retrying will not help."""

    transient = False
