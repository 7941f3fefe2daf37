"""Control endpoints of a sandbox running as a server (`/_sandbox/*`): stats, changes, faults, knobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ycpipeline_sandbox.config import CompanyStatus, SandboxConfig
from ycpipeline_sandbox.faults import Fault

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox
    from ycpipeline_sandbox.state import SandboxState

Mutation = Callable[["SandboxState", int, dict[str, Any]], Any]

# op → how its body maps onto a public change of the state.
MUTATIONS: dict[str, Mutation] = {
    "set_attendance": lambda s, c, b: s.set_attendance(c, int(b["record_id"]), int(b["attendance"])),
    "set_service_cost": lambda s, c, b: s.set_service_cost(
        c, int(b["record_id"]), b["cost"], int(b.get("line", 0))
    ),
    "delete_record": lambda s, c, b: s.delete_record(c, int(b["record_id"])),
    "move_record": lambda s, c, b: s.move_record(c, int(b["record_id"]), datetime.fromisoformat(b["start"])),
    "add_record": lambda s, c, b: s.add_record(c, datetime.fromisoformat(b["start"])),
    "pay_record": lambda s, c, b: s.pay_record(c, int(b["record_id"])),
    "update_staff": lambda s, c, b: s.update_staff(c, int(b["staff_id"]), **b.get("fields", {})),
    "update_client": lambda s, c, b: s.update_client(c, int(b["client_id"]), **b.get("fields", {})),
    "update_service": lambda s, c, b: s.update_service(c, int(b["service_id"]), **b.get("fields", {})),
    "remove_service": lambda s, c, b: s.remove_service(c, int(b["service_id"])),
    "update_company": lambda s, c, b: s.update_company(c, **b.get("fields", {})),
    "goods_operation": lambda s, c, b: s.goods_operation(c, b["kind"], int(b["good_id"]), float(b["amount"])),
    # A listed goods transaction (`GET /storages/transactions`): edited (its change time moves) or deleted.
    "update_goods_transaction": lambda s, c, b: s.update_goods_transaction(
        c, int(b["transaction_id"]), **b.get("fields", {})
    ),
    "delete_goods_transaction": lambda s, c, b: s.delete_goods_transaction(c, int(b["transaction_id"])),
}
KNOBS = {f.name for f in fields(SandboxConfig)} - {"partner_token", "user_token", "user_password"}


def routes(box: Sandbox) -> list[Route]:
    """The control routes (no auth: a sandbox listens on loopback only)."""

    async def stats(request: Request) -> Response:
        return JSONResponse({**asdict(box.stats), "faults_injected": box.faults.injected})

    async def mutations(request: Request) -> Response:
        body = await request.json()
        mutation = MUTATIONS.get(body.get("op"))
        if mutation is None:
            return JSONResponse(
                {"error": f"unknown op {body.get('op')!r}", "ops": sorted(MUTATIONS)}, status_code=400
            )
        try:
            result = mutation(box.state, int(body["company_id"]), body)
        except (KeyError, StopIteration, ValueError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse(result)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            box.faults.clear()
        else:
            body = await request.json()
            box.faults.add(*(Fault(**f) for f in (body if isinstance(body, list) else [body])))
        return JSONResponse({"ok": True})

    async def config(request: Request) -> Response:
        body = await request.json()
        unknown = set(body) - KNOBS
        if unknown:
            return JSONResponse({"error": f"unknown knobs {sorted(unknown)}"}, status_code=400)
        if "company_status" in body:
            body["company_status"] = {int(c): CompanyStatus(**s) for c, s in body["company_status"].items()}
        if "served_fields" in body:
            body["served_fields"] = {
                route: {int(i): fields for i, fields in by_id.items()}
                for route, by_id in body["served_fields"].items()
            }
        box.reconfigure(**body)
        return JSONResponse({"ok": True})

    return [
        Route("/_sandbox/stats", stats),
        Route("/_sandbox/mutations", mutations, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["POST", "DELETE"]),
        Route("/_sandbox/config", config, methods=["POST"]),
    ]
