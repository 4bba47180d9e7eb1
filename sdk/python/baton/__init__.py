"""baton - the Python SDK of Baton functions: write a handler, and the worker
takes envelopes from the function's inbox, calls it, and forwards, replies or
fails for you. Guide: docs/sdk-python.md; the contract is docs/sdk.md's."""

from .context import Context, Meta, StateError
from .wire import EnvelopeError, Limits
from .worker import ConfigError, Stats, Worker, main

__all__ = ["ConfigError", "Context", "EnvelopeError", "Limits", "Meta", "StateError", "Stats",
           "Worker", "main"]
__version__ = "0.1.0"
