"""``GET /reports/{name}``: the analytics reports as JSON, CSV (``?format=csv``) or printable HTML
(``?format=html``).

Who reads what: the operator and national regulators every report; a provincial regulator every
report, limited to its province; a producer (vehicle maker) its own EPR report only. The facts are
brought up to date with the store's events before each report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response

from ionledger.api.auth import Who
from ionledger.errors import Forbidden, ValidationError
from ionledger.governance.access import Principal
from ionledger.governance.registry import Role
from ionledger.store.port import EventStore

FORMATS = ("json", "csv", "html")


def scoped(
    who: Principal, name: str, province: str | None, producer: str | None
) -> tuple[str | None, str | None]:
    """The province and producer filters ``who`` may ask for ``name`` with; Forbidden else."""
    who.require_events()
    if who.reads_everything:
        return province, producer
    if Role.PROVINCIAL_REGULATOR in who.roles and who.province:
        if province not in (None, who.province):
            raise Forbidden(
                f"{who.label} reads province {who.province} only", rule="access.report-province"
            )
        return who.province, producer
    if name == "epr" and Role.VEHICLE_MAKER in who.roles:
        if producer not in (None, who.enterprise):
            raise Forbidden(
                f"{who.label} reads its own EPR report only", rule="access.report-producer"
            )
        return province, who.enterprise
    raise Forbidden(
        f"{who.label} may not read the {name} report (regulators; producers their EPR report)",
        rule="access.report",
    )


def reports_router(store: Callable[[], EventStore]) -> APIRouter:
    router = APIRouter(tags=["reports"])

    @router.get("/reports/{name}", summary="An analytics report (JSON, CSV or HTML)")
    def get_report(
        name: str,
        who: Who,
        format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
        table: str | None = None,
        year: int | None = None,
        province: str | None = None,
        producer: str | None = None,
        jurisdiction: str = "cn",
        explain: bool = False,
        detail: bool = False,
    ) -> Response:
        from ionledger.analytics import output, report_html
        from ionledger.analytics.engines import store_engine
        from ionledger.analytics.kpis import REPORTS, facts_of, run
        from ionledger.analytics.params import AnalyticsParams

        if name not in REPORTS:
            raise ValidationError(f"no report {name!r} (have: {', '.join(REPORTS)})")
        province, producer = scoped(who, name, province, producer)
        params = AnalyticsParams(
            year=year, province=province, producer=producer, jurisdiction=jurisdiction,
            explain=explain, detail=detail,
        )  # fmt: skip
        s = store()
        with facts_of(store_engine(s.url), store=s) as facts:
            result = run(name, facts, params)
        if format == "csv":
            t = result.table(table) if table else result.tables[0]
            return Response(output.to_csv(t), media_type="text/csv; charset=utf-8")
        if format == "html":
            return Response(report_html.render(result), media_type="text/html; charset=utf-8")
        return Response(output.to_json(result), media_type="application/json")

    return router
