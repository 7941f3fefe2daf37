"""A local YClients API with a generated salon chain, for the demo and the tests."""

from ycpipeline_sandbox.app import Sandbox
from ycpipeline_sandbox.config import CompanyStatus, SandboxConfig
from ycpipeline_sandbox.faults import Fault
from ycpipeline_sandbox.generator import GenerationParams
from ycpipeline_sandbox.profiles import CompanyProfile, company_profile
from ycpipeline_sandbox.state import SandboxState
from ycpipeline_sandbox.tokens import (
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
