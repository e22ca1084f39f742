"""The steps a running connector takes after each ticket's write-back, built from its config."""
from __future__ import annotations

from typing import TYPE_CHECKING

from connector.pipeline.process import AfterProcessing

if TYPE_CHECKING:
    from connector.composition import Runtime


def after_steps(runtime: "Runtime") -> list[AfterProcessing]:
    """Record the ticket's SLA clocks (for alerts and recompute); keep the requester's KB access
    and portal registration right (when the config's [access] asks for it)."""
    from connector.kb.keeper import AccessKeeper
    from connector.jobs.sla_alerts import ClockRecorder

    steps: list[AfterProcessing] = [ClockRecorder.for_runtime(runtime)]
    access = runtime.config.access
    if access.get("kb", True) or access.get("register_portal_users", True):
        steps.append(AccessKeeper(runtime.engine, runtime.rules, access))
    return steps
