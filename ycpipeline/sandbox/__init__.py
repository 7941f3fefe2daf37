"""A local YClients API with a generated salon, for the demo and the tests."""

from ycpipeline.sandbox.app import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_TOKEN,
    Sandbox,
    SandboxConfig,
    sandbox_client,
)
from ycpipeline.sandbox.faults import Fault
from ycpipeline.sandbox.generator import GenerationParams
from ycpipeline.sandbox.state import SandboxState

__all__ = [
    "DEFAULT_PARTNER_TOKEN",
    "DEFAULT_USER_TOKEN",
    "Fault",
    "GenerationParams",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "sandbox_client",
]
