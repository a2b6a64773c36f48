"""Exceptions the stand-in raises to its in-process users."""


class SandboxError(Exception):
    """A control action the stand-in refused, or a consent flow that did not end in a redirect."""


class GrantLimitReached(SandboxError):
    """More than the allowed grant codes for one client within the window (reference §4)."""
