"""A local YClients API with a generated salon chain, for the demo and the tests."""

from ycpipeline.sandbox.app import Sandbox
from ycpipeline.sandbox.config import CompanyStatus, SandboxConfig
from ycpipeline.sandbox.faults import Fault
from ycpipeline.sandbox.generator import GenerationParams
from ycpipeline.sandbox.profiles import CompanyProfile, company_profile
from ycpipeline.sandbox.state import SandboxState
from ycpipeline.sandbox.tokens import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_LOGIN,
    DEFAULT_USER_PASSWORD,
    DEFAULT_USER_TOKEN,
    sandbox_client,
)

__all__ = [
    "DEFAULT_PARTNER_TOKEN",
    "DEFAULT_USER_LOGIN",
    "DEFAULT_USER_PASSWORD",
    "DEFAULT_USER_TOKEN",
    "CompanyProfile",
    "CompanyStatus",
    "Fault",
    "GenerationParams",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "company_profile",
    "sandbox_client",
]
