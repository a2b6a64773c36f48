"""Placeholder; full documentation follows."""

from .errors import GrantLimitReached, SandboxError
from .sandbox import Sandbox

__all__ = ["GrantLimitReached", "Sandbox", "SandboxError"]
