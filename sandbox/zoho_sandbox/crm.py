"""Zoho CRM REST API v8, read-only: records, related notes, search, COQL and the SDK's metadata calls."""

from dataclasses import dataclass
from datetime import datetime

from . import coql
from .data import ID_BASE, iso
from .fields import FIELD_MAPS, MODULE_SCOPES
from .metadata import NOTES_PARENTS, related_lists, settings_fields
from .paging import SORT_KEYS, binding_of
from .search import criteria_matcher, email_matcher, phone_matcher, word_matcher
from .web import ApiError, json_response, no_content, not_modified

MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_IDS = 100
SEARCH_SCOPES = {"zohosearch.securesearch.read", "zohosearch.securesearch.all"}
COQL_SCOPES = {"zohocrm.coql.read", "zohocrm.coql.all"}
FIELDS_SCOPES = {"zohocrm.settings.all", "zohocrm.settings.fields.read", "zohocrm.settings.fields.all"}
RELATED_LIST_SCOPES = {"zohocrm.settings.all", "zohocrm.settings.related_lists.read",
                       "zohocrm.settings.related_lists.all"}
USERS_SCOPES = {"zohocrm.users.read", "zohocrm.users.all"}
ORG_SCOPES = {"zohocrm.org.read", "zohocrm.org.all"}
# Custom views (cvid) the stand-in knows: every record, or the current user's.
VIEWS = {str(ID_BASE + 87_001): "all", str(ID_BASE + 87_003): "mine"}


@dataclass
class Route:
    template: str  # the path with {id} for record ids, as counted and as fault targets
    method: str
    handler: object
    args: dict
    heavy: bool = False  # counts toward the sub-concurrency cap too (reference §8.2)
    heavy_params: tuple = ()  # ...or does when called with one of these parameters

    def is_heavy(self, query: dict) -> bool:
        return self.heavy or any(p in query for p in self.heavy_params)


@dataclass
class CallContext:
    """What a handler knows about the caller: its access token and a way to spend credits."""

    token: object
    charge: object


def module_scopes(module: str) -> set:
    name = MODULE_SCOPES[module]
    return {"zohocrm.modules.all", f"zohocrm.modules.{name}.read", f"zohocrm.modules.{name}.all"}


def require(ctx, *alternatives):
    """Each argument is a set of scopes of which the token needs at least one."""
    granted = {scope.lower() for scope in ctx.token.scopes}
    for scopes in alternatives:
        if not granted & scopes:
            raise ApiError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")


def invalid_param(name: str, **details) -> ApiError:
    return ApiError(400, "INVALID_DATA", "invalid data", {"param_name": name, **details})


def modified_since(request, settings) -> float | None:
    """The If-Modified-Since header as a timestamp; None when absent (or malformed and ignored)."""
    raw = request.headers.get("if-modified-since")
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        return moment.timestamp()
    if settings.malformed_if_modified_since == "ignore":
        return None
    raise ApiError(400, "INVALID_DATA", "the If-Modified-Since header must be an ISO 8601 date-time with "
                   "an offset, such as 2019-07-25T15:26:49+05:30",
                   {"header_name": "If-Modified-Since", "expected_data_type": "datetime"})


def modified_ts(row: dict) -> float:
    return datetime.fromisoformat(row["Modified_Time"]).timestamp()


def int_param(request, name, default, low, high=None) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name) from None
    if value < low or (high is not None and value > high):
        raise invalid_param(name, **({"maximum_length": high} if high else {}))
    return value


class CrmApi:
    def __init__(self, settings, org, orderings, page_tokens):
        self.settings = settings
        self.org = org
        self.orderings = orderings
        self.page_tokens = page_tokens

    def route(self, path) -> Route | None:
        """The route for a path below the API domain, or None (404 INVALID_URL_PATTERN)."""
        segments = path.strip("/").split("/")
        if len(segments) < 3 or segments[:2] != ["crm", "v8"] or "" in segments:
            return None
        rest = segments[2:]
        fixed = {("coql",): ("POST", self.coql), ("users",): ("GET", self.users), ("org",): ("GET", self.org_info),
                 ("settings", "fields"): ("GET", self.fields_meta),
                 ("settings", "related_lists"): ("GET", self.related_lists_meta)}
        if tuple(rest) in fixed:
            verb, handler = fixed[tuple(rest)]
            return Route("/crm/v8/" + "/".join(rest), verb, handler, {}, heavy=rest == ["coql"])
        if len(rest) == 2 and rest[0] == "users":
            return Route("/crm/v8/users/{id}", "GET", self.user, {"user_id": rest[1]})
        module = self.module_name(rest[0])
        if len(rest) == 1:
            return Route(f"/crm/v8/{module}", "GET", self.list_records, {"module": module},
                         heavy_params=("sort_by", "cvid"))
        if len(rest) == 2 and rest[1] == "search":
            return Route(f"/crm/v8/{module}/search", "GET", self.search, {"module": module})
        if len(rest) == 2:
            return Route(f"/crm/v8/{module}/{{id}}", "GET", self.get_record,
                         {"module": module, "record_id": rest[1]})
        if len(rest) == 3 and rest[2] == "Notes":
            return Route(f"/crm/v8/{module}/{{id}}/Notes", "GET", self.related_notes,
                         {"module": module, "record_id": rest[1]})
        return None

    def module_name(self, name: str) -> str:
        """The module's API name, matched case-insensitively; unknown names are kept as given."""
        return next((m for m in self.org.modules if m.lower() == name.lower()), name)

    def module(self, name: str):
        module = self.org.modules.get(name)
        if module is None:
            raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                           {"resource_path_index": 0})
        return module

    # -- shared parameter handling --------------------------------------------------------------

    @staticmethod
    def requested_fields(request, required: bool) -> list | None:
        raw = request.query.get("fields")
        names = [n.strip() for n in (raw or "").split(",") if n.strip()]
        if not names:
            if required:
                raise ApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                               {"param_name": "fields"})
            return None
        if len(names) > MAX_FIELDS:
            raise ApiError(400, "LIMIT_EXCEEDED", "the number of fields exceeds the limit",
                           {"param_name": "fields", "limit": MAX_FIELDS})
        return names

    @staticmethod
    def sort_params(request, default_order: str) -> tuple:
        sort_by = request.query.get("sort_by", "id")
        sort_order = request.query.get("sort_order", default_order)
        if sort_by not in SORT_KEYS:
            raise invalid_param("sort_by", supported_values=list(SORT_KEYS))
        if sort_order not in ("asc", "desc"):
            raise invalid_param("sort_order", supported_values=["asc", "desc"])
        return sort_by, sort_order

    @staticmethod
    def project(record: dict, names, parent_short=False) -> dict:
        """id, the requested fields that exist, and the `$` meta keys Zoho always adds."""
        if names is None:
            row = dict(record)
        else:
            row = {"id": record["id"]}
            row.update((n, record[n]) for n in names if n in record)
            row.update((k, v) for k, v in record.items() if k.startswith("$"))
        if parent_short and "Parent_Id" in row:  # related lists show the parent as {name, id}
            row["Parent_Id"] = {"name": record["Parent_Id"]["name"], "id": record["Parent_Id"]["id"]}
        return row

    def paginate(self, request, ctx, module, order, names, binding, sort, related=False):
        """One page of `order` by page number or page_token, with Zoho's `info` block."""
        per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        binding = binding_of(binding, per_page)
        token = request.query.get("page_token")
        if token:  # `page` is ignored next to a token (reference §6.1 is ambiguous; this accepts both)
            offset = self.page_tokens.read(token, ctx.token.user_id, binding)
            if offset >= self.settings.page_token_limit:
                raise ApiError(400, "PAGINATION_LIMIT_EXCEEDED",
                               f"page_token can fetch at most {self.settings.page_token_limit} records",
                               {"limit": self.settings.page_token_limit})
            page = offset // per_page + 1
        else:
            page = int_param(request, "page", 1, 1)
            if page * per_page > self.settings.discrete_page_limit:
                raise ApiError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                               f"page and per_page reach only the first {self.settings.discrete_page_limit} "
                               "records; use page_token from info.next_page_token",
                               {"limit": self.settings.discrete_page_limit})
            offset = (page - 1) * per_page
        chunk = order[offset:offset + per_page]
        if not len(chunk):
            return no_content()
        more = offset + per_page < len(order)
        next_token = expiry = previous_token = None
        if more:
            next_token, expires = self.page_tokens.issue(ctx.token.user_id, binding, offset + per_page)
            expiry = iso(expires)
        if offset > 0:
            previous_token, _ = self.page_tokens.issue(ctx.token.user_id, binding, max(0, offset - per_page))
        rows = [self.project(module.record(i), names, parent_short=related) for i in chunk]
        info = {"per_page": per_page, "next_page_token": next_token, "count": len(rows)}
        if not related:
            info.update(sort_by=sort[0])
        info.update(page=page, previous_page_token=previous_token, page_token_expiry=expiry)
        if not related:  # the related-list info block has no sort or email/call keys (reference §6.4)
            info.update(sort_order=sort[1], email=False, call=False)
        info["more_records"] = more
        return json_response(200, {"data": rows, "info": info})

    # -- records -------------------------------------------------------------------------------

    def list_records(self, request, ctx, module):
        """GET /crm/v8/{module}: `fields` mandatory; page numbers to 2,000 records, then page_token."""
        source = self.module(module)
        require(ctx, module_scopes(module))
        if module == "Notes" and not self.org.admin:
            raise ApiError(403, "NOT_SUPPORTED", "This API is supported only for admin users")
        ctx.charge(1)
        names = self.requested_fields(request, required=True)
        cvid, ids = request.query.get("cvid"), request.query.get("ids")
        if cvid and "sort_by" in request.query:
            raise ApiError(400, "AMBIGUITY_DURING_PROCESSING", "cvid and sort_by cannot be used together",
                           {"ambiguity_due_to": ["cvid", "sort_by"]})
        # Newest first, except notes which Zoho lists oldest first (reference §6.4).
        sort_by, sort_order = self.sort_params(request, "asc" if module == "Notes" else "desc")
        subset = None
        if cvid:
            if cvid not in VIEWS:
                raise invalid_param("cvid")
            if VIEWS[cvid] == "mine":
                me = ctx.token.user_id
                subset = [i for i in range(source.count) if source.record(i)["Owner"]["id"] == me]
        if ids:
            wanted = [part.strip() for part in ids.split(",") if part.strip()]
            if len(wanted) > MAX_IDS:
                raise ApiError(400, "LIMIT_EXCEEDED", "the number of ids exceeds the limit",
                               {"param_name": "ids", "limit": MAX_IDS})
            if not all(part.isdigit() for part in wanted):
                raise invalid_param("ids")
            found = {source.index(part) for part in wanted} - {None}
            subset = sorted(found if subset is None else found & set(subset))
        if request.query.get("approved", "true") == "false":
            subset = []  # every record in this org is approved
        since = modified_since(request, self.settings)
        if since is not None:
            changed = self.orderings.modified_after(source, since)
            subset = changed if subset is None else sorted(set(subset).intersection(changed))
        order = self.orderings.ordered(source, sort_by, sort_order == "desc", subset)
        if since is not None and not len(order):
            return not_modified()
        binding = (f"/{module}", names, sort_by, sort_order, cvid, ids, request.query.get("approved"), since)
        return self.paginate(request, ctx, source, order, names, binding, (sort_by, sort_order))

    def get_record(self, request, ctx, module, record_id):
        """GET /crm/v8/{module}/{id}: an array of one; a well-formed id that does not exist gives 204."""
        source = self.module(module)
        require(ctx, module_scopes(module))
        ctx.charge(1)
        if not record_id.isdigit():
            raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        since = modified_since(request, self.settings)
        index = source.index(record_id)
        if index is None:
            return no_content()
        if since is not None and source.modified_ts(index) <= since:
            return not_modified()
        names = self.requested_fields(request, required=False)
        return json_response(200, {"data": [self.project(source.record(index), names)]})

    def related_notes(self, request, ctx, module, record_id):
        """GET /crm/v8/{module}/{id}/Notes: needs notes scope and the parent module's scope."""
        parent = self.module(module)
        if module not in NOTES_PARENTS:
            raise ApiError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
        require(ctx, module_scopes("Notes"), module_scopes(module))
        ctx.charge(1)
        if not record_id.isdigit():
            raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        names = self.requested_fields(request, required=True)
        since = modified_since(request, self.settings)
        index = parent.index(record_id)
        if index is None or module == "Accounts":  # accounts carry no notes in this org
            return no_content()
        notes = self.org.notes
        sort_by, sort_order = self.sort_params(request, "asc")  # oldest first (reference §6.4)
        attached = notes.indices_of(parent, index)
        if since is not None:
            attached = [i for i in attached if notes.modified_ts(i) > since]
            if not attached:
                return not_modified()
        order = self.orderings.ordered(notes, sort_by, sort_order == "desc", list(attached))
        binding = (f"/{module}/{record_id}/Notes", names, sort_by, sort_order, since)
        return self.paginate(request, ctx, notes, order, names, binding, (sort_by, sort_order), related=True)

    def search(self, request, ctx, module):
        """GET /crm/v8/{module}/search: criteria, email, phone or word; at most 2,000 results."""
        source = self.module(module)
        require(ctx, module_scopes(module), SEARCH_SCOPES)
        ctx.charge(1)
        fields = FIELD_MAPS[module]
        given = {k: request.query[k] for k in ("criteria", "email", "phone", "word") if request.query.get(k)}
        if not given:
            raise ApiError(400, "EXPECTED_PARAM_MISSING", "One of the expected parameter is missing",
                           {"expected_params": ["criteria", "email", "phone", "word"]})
        # With several given, the first of criteria, email, phone, word wins.
        kind, value = next(iter(given.items()))
        matcher = {"criteria": criteria_matcher, "email": email_matcher, "phone": phone_matcher,
                   "word": word_matcher}[kind](value, fields)
        names = self.requested_fields(request, required=False)
        per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        page = int_param(request, "page", 1, 1)
        limit = self.settings.search_limit
        if (page - 1) * per_page >= limit:
            raise ApiError(400, "LIMIT_REACHED", "Maximum response iteration limit reached", {"limit": limit})
        end = min(page * per_page, limit)
        matches = []
        for index in range(source.count):  # id descending
            record = source.record(index)
            if matcher(record):
                matches.append(record)
                if len(matches) > end:
                    break
        rows = matches[(page - 1) * per_page:end]
        if not rows:
            return no_content()
        info = {"per_page": per_page, "count": len(rows), "sort_by": "id", "page": page,
                "sort_order": "desc", "more_records": len(matches) > end and end < limit}
        return json_response(200, {"data": [self.project(r, names) for r in rows], "info": info})

    def coql(self, request, ctx):
        """POST /crm/v8/coql with {"select_query": ...}; credits by LIMIT."""
        require(ctx, COQL_SCOPES)
        try:
            body = request.json()
        except ValueError:
            raise ApiError(400, "INVALID_DATA", "the request body is not valid JSON") from None
        text = body.get("select_query") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                           {"param_name": "select_query"})
        query = coql.parse(text, self.org.modules, self.settings.coql_max_select_fields,
                           self.settings.coql_max_offset)
        require(ctx, module_scopes(query.module))
        if self.settings.coql_requires_fields_scope:
            require(ctx, FIELDS_SCOPES)
        ctx.charge(query.credits)
        rows, more = coql.run(query, self.org, self.orderings)
        if not rows and self.settings.coql_no_rows == "204":
            return no_content()
        return json_response(200, {"data": rows, "info": {"count": len(rows), "more_records": more}})

    # -- what the official SDK reads besides records ---------------------------------------------

    def metadata_module(self, request) -> str:
        name = request.query.get("module")
        if not name:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                           {"param_name": "module"})
        module = self.module_name(name)
        self.module(module)
        return module

    def fields_meta(self, request, ctx):
        """GET /crm/v8/settings/fields?module=X."""
        require(ctx, FIELDS_SCOPES)
        ctx.charge(1)
        return json_response(200, settings_fields(self.metadata_module(request)))

    def related_lists_meta(self, request, ctx):
        """GET /crm/v8/settings/related_lists?module=X."""
        require(ctx, RELATED_LIST_SCOPES)
        ctx.charge(1)
        return json_response(200, related_lists(self.metadata_module(request)))

    def users(self, request, ctx):
        """GET /crm/v8/users?type=CurrentUser|AllUsers|ActiveUsers|AdminUsers."""
        require(ctx, USERS_SCOPES)
        ctx.charge(1)
        kind = request.query.get("type", "AllUsers")
        users = self.org.users
        if kind == "CurrentUser":
            users = [u for u in users if u["id"] == ctx.token.user_id]
        elif kind == "AdminUsers":
            users = [u for u in users if u["profile"]["name"] == "Administrator"]
        elif kind not in ("AllUsers", "ActiveUsers"):
            raise invalid_param("type")
        since = modified_since(request, self.settings)
        if since is not None:
            users = [u for u in users if modified_ts(u) > since]
            if not users:
                return not_modified()
        info = {"per_page": MAX_PER_PAGE, "count": len(users), "page": 1, "more_records": False}
        return json_response(200, {"users": users, "info": info})

    def user(self, request, ctx, user_id):
        require(ctx, USERS_SCOPES)
        ctx.charge(1)
        since = modified_since(request, self.settings)
        users = [u for u in self.org.users if u["id"] == user_id]
        if not users:
            return no_content()
        if since is not None and modified_ts(users[0]) <= since:
            return not_modified()
        return json_response(200, {"users": users})

    def org_info(self, request, ctx):
        """GET /crm/v8/org."""
        require(ctx, ORG_SCOPES)
        ctx.charge(1)
        return json_response(200, {"org": [self.org.org_info()]})

