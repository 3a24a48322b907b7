"""The audit log over HTTP: listing, CSV export, head and verification.

Readable by auditors and admins only; anyone else gets 403, and the refusal itself is
logged as a security event.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response
from flask.views import MethodView

from relief_inventory.api.common import actor, engine, protected_blueprint, read_session
from relief_inventory.audit import queries
from relief_inventory.audit.services import chain_head
from relief_inventory.audit.verify import parse_head, verify
from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_role
from relief_inventory.auth.services import check_logged
from relief_inventory.db import open_session
from relief_inventory.paging import Page
from schemas.audit import (
    AuditFilterSchema,
    AuditHeadSchema,
    AuditPageSchema,
    AuditQuerySchema,
    VerificationSchema,
    VerifyQuerySchema,
)

blp = protected_blueprint(
    "audit", __name__, "/audit", "审计日志：查询、导出、链头与核验（审计员、系统管理员）"
)


@blp.before_request
def readers_only() -> None:
    """Auditors read everything, the log included; admins too (require_role lets them)."""
    who = actor()
    check_logged(engine(), who, lambda: require_role(who, Role.AUDITOR))


@blp.route("")
class AuditList(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args: dict) -> Page:
        """Entries matching the filters, newest first, one page at a time."""
        filters = queries.filters_from(args)
        with read_session() as session:
            return queries.audit_page(session, filters, args["page"], args["per_page"])


@blp.route("/export.csv")
class AuditExport(MethodView):
    @blp.arguments(AuditFilterSchema, location="query")
    @blp.response(200, content_type="text/csv", description="UTF-8 CSV, times in Asia/Shanghai")
    def get(self, args: dict) -> Response:
        """Entries matching the filters as CSV, oldest first, streamed (any size)."""
        filters = queries.filters_from(args)
        session = open_session(engine())
        try:
            chunks = queries.iter_csv(session, filters)  # refuses bad filters before streaming
        except BaseException:
            session.close()
            raise

        def rows() -> Iterator[str]:
            try:
                yield from chunks
            finally:
                session.close()

        return Response(
            rows(),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )


@blp.route("/head")
class AuditHead(MethodView):
    @blp.response(200, AuditHeadSchema)
    def get(self) -> dict:
        """The latest entry's sequence number and hash: publish it to detect rewriting."""
        with read_session() as session:
            seq, digest = chain_head(session)
        return {"seq": seq, "hash": digest, "head": f"{seq}:{digest}"}


@blp.route("/verify")
class AuditVerify(MethodView):
    @blp.arguments(VerifyQuerySchema, location="query")
    @blp.response(200, VerificationSchema)
    def get(self, args: dict) -> dict:
        """Walk the chain (and replay it against the tables unless ``chain_only``);
        ``head`` checks that the log still extends a head published earlier."""
        expected = parse_head(args["head"]) if args["head"] else None
        with read_session() as session:
            result = verify(session, expected_head=expected, check_rows=not args["chain_only"])
        return {
            "ok": result.ok,
            "entries": result.entries,
            "head": f"{result.head[0]}:{result.head[1]}",
            "problems": result.problems,
        }
