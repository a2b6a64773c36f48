"""Placeholder; full documentation follows."""

from .sandbox import Sandbox, SandboxError

__all__ = ["Sandbox", "SandboxError"]
