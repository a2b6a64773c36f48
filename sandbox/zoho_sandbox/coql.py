"""COQL: a useful subset of Zoho's SQL-like query language (reference §6.6).

SELECT fields (or COUNT/SUM/MIN/MAX/AVG with GROUP BY) FROM module WHERE conditions with =, !=,
<, >, <=, >=, [not] like, [not] in, [not] between, is [not] null, combined with and/or; a bracket
level holds at most two conditions, as in Zoho. ORDER BY, LIMIT n [OFFSET m] and LIMIT m, n.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from .fields import FIELD_MAPS, LOOKUP_TYPES, NUMBER_TYPES, TEXT_TYPES
from .web import ApiError

MAX_ROWS = 2000
DEFAULT_LIMIT = 200
MAX_CRITERIA = 25
MAX_IN_VALUES = 100
AGGREGATES = ("count", "sum", "min", "max", "avg")
USER_FIELDS = ("id", "first_name", "last_name", "full_name", "email")
KEYWORDS = {"select", "from", "where", "and", "or", "not", "like", "in", "is", "null", "between",
            "order", "group", "by", "asc", "desc", "limit", "offset", "true", "false"}
TOKEN = re.compile(r"""\s+|(?P<string>'(?:[^'\\]|\\.|'')*')|(?P<number>-?\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)?)|(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),*])""", re.VERBOSE)
OPERATORS_BY_TYPE = {
    **{t: {"=", "!=", "like", "not like", "in", "not in"} for t in TEXT_TYPES},
    **{t: {"=", "!=", "<", ">", "<=", ">=", "in", "not in", "between", "not between"}
       for t in NUMBER_TYPES | {"date", "datetime"}},
    **{t: {"=", "!=", "in", "not in"} for t in LOOKUP_TYPES},
    "boolean": {"=", "!="},
}


def syntax_error(reason: str, details: dict) -> ApiError:
    """details as Zoho's v8 OAS and SDK know them: {line, column, near} or {clause}."""
    return ApiError(400, "SYNTAX_ERROR", f"error occurred while parsing the query: {reason}", details)


def syntax_error_at(text: str, offset: int, near: str, reason: str) -> ApiError:
    """A syntax error at a character offset: 1-based line and column, and the text found there."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return syntax_error(reason, {"line": line, "column": column, "near": near})


def missing_clause(clause: str) -> ApiError:
    return syntax_error(f"the {clause.upper()} clause is missing or incomplete", {"clause": clause})


def invalid_query(message: str, details: dict) -> ApiError:
    """details in one of the OAS shapes: {column_name}, {module}, or {column_name, operator, reason}."""
    return ApiError(400, "INVALID_QUERY", message, details)


def invalid_operand(reason: str, column: str, operator: str) -> ApiError:
    return invalid_query("invalid query formed", {"column_name": column, "operator": operator, "reason": reason})


def limit_exceeded(what: str, limit: int) -> ApiError:
    return ApiError(400, "LIMIT_EXCEEDED", f"{what} exceeds the limit", {"limit": limit})


@dataclass
class Column:
    """A field of the module, or `Lookup.Field` reaching into a looked-up record or user."""

    text: str
    field: object
    sub: str | None = None  # field of the looked-up record, or a user attribute

    @property
    def key(self) -> str:
        return f"{self.field.api_name}.{self.sub}" if self.sub else self.field.api_name


@dataclass
class Aggregate:
    function: str
    column: Column

    @property
    def key(self) -> str:
        return f"{self.function.upper()}({self.column.key})"


@dataclass
class Query:
    module: str
    select: list
    where: object
    group_by: list = field(default_factory=list)
    order_by: list = field(default_factory=list)  # (Column, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @property
    def credits(self) -> int:
        """Credits by LIMIT (reference §6.6): 1-200: 1, 201-1000: 2, 1001-2000: 3."""
        return 1 if self.limit <= 200 else 2 if self.limit <= 1000 else 3


def parse(text: str, modules, max_select_fields: int, max_offset: int) -> Query:
    """Parse a select_query, resolving its columns against the module's fields."""
    return _Parser(text, modules, max_select_fields, max_offset).query()


class _Parser:
    def __init__(self, text, modules, max_select_fields, max_offset):
        self.text = text
        self.tokens, self.starts = self._tokenize(text)  # (kind, value), and where each one starts
        self.pos = 0
        self.modules = modules  # name -> Module
        self.max_select_fields = max_select_fields
        self.max_offset = max_offset
        self.criteria = 0

    @staticmethod
    def _tokenize(text):
        tokens, starts, pos = [], [], 0
        while pos < len(text):
            match = TOKEN.match(text, pos)
            if not match:
                raise syntax_error_at(text, pos, text[pos:pos + 20].split()[0], "unexpected character")
            if match.lastgroup:
                tokens.append((match.lastgroup, match.group(match.lastgroup)))
                starts.append(match.start(match.lastgroup))
            pos = match.end()
        return tokens, starts

    def error(self, reason, index=None) -> ApiError:
        """A syntax error at token `index` (default: the next one); past the end, at the last token."""
        index = min(self.pos if index is None else index, len(self.tokens) - 1)
        return syntax_error_at(self.text, self.starts[index], self.tokens[index][1], reason)

    def error_taken(self, reason) -> ApiError:
        """A syntax error at the token just taken."""
        return self.error(reason, self.pos - 1)

    def peek(self, offset=0):
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def keyword(self, *words, offset=0) -> bool:
        kind, value = self.peek(offset)
        return kind == "name" and value.lower() in words

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def field_name(self) -> str:
        """The next token, which must be a field name (GROUP BY, ORDER BY)."""
        kind, value = self.take()
        if kind != "name" or value.lower() in KEYWORDS:
            raise self.error_taken("expected a field name")
        return value

    def expect_keyword(self, word):
        if not self.keyword(word):
            raise self.error(f"expected {word.upper()}")
        self.pos += 1

    def expect(self, punct):
        if self.peek() != ("punct", punct):
            raise self.error(f"expected '{punct}'")
        self.pos += 1

    def query(self) -> Query:
        if not self.keyword("select"):
            raise self.error("only select queries are supported")
        self.pos += 1
        raw_select = [self.select_item()]
        while self.peek() == ("punct", ","):
            self.pos += 1
            raw_select.append(self.select_item())
        self.expect_keyword("from")
        kind, module_name = self.take()
        module = next((m for m in self.modules if m.lower() == module_name.lower()), None)
        if kind != "name" or module is None:
            raise invalid_query("invalid module given", {"module": module_name})
        self.fields = FIELD_MAPS[module]
        select = [self.resolve_item(item) for item in raw_select]
        if len(select) > self.max_select_fields:
            raise limit_exceeded("the number of select fields", self.max_select_fields)
        if not self.keyword("where"):
            raise missing_clause("where")
        self.pos += 1
        where = self.condition_group(top=True)
        if self.criteria > MAX_CRITERIA:
            raise limit_exceeded("the number of criteria", MAX_CRITERIA)
        query = Query(module, select, where)
        if self.keyword("group"):
            self.pos += 1
            self.expect_keyword("by")
            query.group_by = [self.column(self.field_name())]
            while self.peek() == ("punct", ","):
                self.pos += 1
                query.group_by.append(self.column(self.field_name()))
        if self.keyword("order"):
            self.pos += 1
            self.expect_keyword("by")
            query.order_by = [self.order_item()]
            while self.peek() == ("punct", ","):
                self.pos += 1
                query.order_by.append(self.order_item())
        self.limit_clause(query)
        if self.peek()[0] != "end":
            raise self.error("unexpected token")
        self.check_grouping(query)
        return query

    def select_item(self):
        kind, value = self.take()
        if kind == "punct" and value == "*":
            raise self.error_taken("select * is not supported; list the fields")
        if kind != "name" or value.lower() in KEYWORDS:
            raise self.error_taken("expected a field name")
        if value.lower() in AGGREGATES and self.peek() == ("punct", "("):
            self.pos += 1
            kind, inner = self.take()
            self.expect(")")
            return (value.lower(), inner)
        return value

    def resolve_item(self, item):
        if isinstance(item, tuple):
            function, inner = item
            column = self.column(inner)
            if function in ("sum", "avg") and column.field.data_type not in NUMBER_TYPES:
                raise invalid_query(f"{function.upper()} needs a number field", {"column_name": inner})
            return Aggregate(function, column)
        return self.column(item)

    def column(self, text) -> Column:
        base, _, sub = text.partition(".")
        field = next((f for name, f in self.fields.items() if name.lower() == base.lower()), None)
        if field is None:
            raise invalid_query("column given seems to be invalid", {"column_name": text})
        if not sub:
            return Column(text, field)
        if field.data_type == "ownerlookup" and sub.lower() in USER_FIELDS:
            return Column(text, field, sub.lower())
        if field.data_type == "lookup" and field.lookup in FIELD_MAPS:
            target = next((n for n in FIELD_MAPS[field.lookup] if n.lower() == sub.lower()), None)
            if target is not None:
                return Column(text, field, target)
        raise invalid_query("column given seems to be invalid", {"column_name": text})

    def order_item(self):
        column = self.column(self.field_name())
        descending = False
        if self.keyword("asc", "desc"):
            descending = self.take()[1].lower() == "desc"
        return column, descending

    def limit_clause(self, query):
        if self.keyword("limit"):
            self.pos += 1
            first = self.integer()
            if self.peek() == ("punct", ","):
                self.pos += 1
                query.offset, query.limit = first, self.integer()
            else:
                query.limit = first
            if query.limit < 1:
                raise self.error_taken("LIMIT must be at least 1")
        if self.keyword("offset"):
            self.pos += 1
            query.offset = self.integer()
        if query.limit > MAX_ROWS:
            raise limit_exceeded("LIMIT", MAX_ROWS)
        if query.offset + query.limit > self.max_offset:
            raise limit_exceeded("OFFSET plus LIMIT", self.max_offset)

    def integer(self) -> int:
        kind, value = self.take()
        if kind != "number" or "." in value or value.startswith("-"):
            raise self.error_taken("expected a whole number")
        return int(value)

    def check_grouping(self, query):
        aggregates = [s for s in query.select if isinstance(s, Aggregate)]
        if not aggregates and not query.group_by:
            return
        grouped = {c.key for c in query.group_by}
        for item in query.select:
            if isinstance(item, Column) and item.key not in grouped:
                raise missing_clause("group by")

    # -- WHERE ---------------------------------------------------------------------------------

    def condition_group(self, top=False):
        """At most two conditions per bracket level: `(A and B) and C`, never `A and B and C`."""
        left = self.operand()
        if not self.keyword("and", "or"):
            return left
        joiner = self.take()[1].lower()
        right = self.operand()
        if self.keyword("and", "or"):
            raise self.error("more than two conditions must be grouped with brackets")
        if joiner == "and":
            return lambda row: left(row) and right(row)
        return lambda row: left(row) or right(row)

    def operand(self):
        if self.peek() == ("punct", "("):
            self.pos += 1
            inner = self.condition_group()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self):
        kind, name = self.take()
        if kind != "name" or name.lower() in KEYWORDS:
            raise self.error_taken("expected a field name in WHERE")
        column = self.column(name)
        self.criteria += 1
        negate = False
        if self.keyword("is"):
            self.pos += 1
            if self.keyword("not"):
                self.pos += 1
                negate = True
            self.expect_keyword("null")
            return lambda row: (row.value(column) is None) != negate
        if self.keyword("not"):
            self.pos += 1
            negate = True
            if not self.keyword("like", "in", "between"):
                raise self.error("expected LIKE, IN or BETWEEN after NOT")
        kind, op = self.take()
        op = op.lower()
        if kind not in ("op", "name") or op not in ("=", "!=", "<>", "<", ">", "<=", ">=", "like", "in",
                                                     "between"):
            raise self.error_taken("expected an operator")
        op = "!=" if op == "<>" else op
        label = f"not {op}" if negate else op
        data_type = "bigint" if column.field.api_name == "id" and not column.sub else self._type(column)
        if label not in OPERATORS_BY_TYPE.get(data_type, ()):
            raise invalid_operand("invalid operator found", column.text, label)
        if op == "in":
            self.expect("(")
            values = [self.literal(column, data_type, label)]
            while self.peek() == ("punct", ","):
                self.pos += 1
                values.append(self.literal(column, data_type, label))
            self.expect(")")
            if len(values) > MAX_IN_VALUES:
                raise limit_exceeded("the number of IN values", MAX_IN_VALUES)
            if data_type in TEXT_TYPES:
                values = [v.lower() for v in values]
            return lambda row: (_comparable(row.value(column), data_type) in values) != negate
        if op == "between":
            low = self.literal(column, data_type, label)
            self.expect_keyword("and")
            high = self.literal(column, data_type, label)

            def between(row):
                value = _comparable(row.value(column), data_type)
                return value is not None and (low <= value <= high) != negate
            return between
        literal = self.literal(column, data_type, label)
        if op == "like":
            pattern = re.compile("^" + ".*".join(re.escape(p) for p in literal.split("%")) + "$",
                                 re.IGNORECASE | re.DOTALL)
            return lambda row: (row.value(column) is not None
                                and bool(pattern.match(row.value(column))) != negate)
        return _comparator(column, data_type, op, literal)

    def _type(self, column):
        if column.sub is None:
            return column.field.data_type
        if column.field.data_type == "ownerlookup":
            return "bigint" if column.sub == "id" else "text"
        target = FIELD_MAPS[column.field.lookup][column.sub]
        return target.data_type

    def literal(self, column, data_type, operator):
        kind, value = self.take()
        bad = invalid_operand("the value given seems to be invalid", column.text, operator)
        if kind == "string":
            text = value[1:-1].replace("''", "'").replace("\\'", "'")
            if data_type in TEXT_TYPES:
                return text
            if data_type in ("bigint", "ownerlookup", "lookup") and text.isdigit():
                return text if data_type != "bigint" else int(text)
            if data_type == "date":
                try:
                    return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
                except ValueError:
                    raise bad from None
            if data_type == "datetime":
                try:
                    return datetime.fromisoformat(text).timestamp()
                except ValueError:
                    raise bad from None
            raise bad
        if kind == "number":
            if data_type in NUMBER_TYPES:
                return float(value) if "." in value else int(value)
            if data_type in LOOKUP_TYPES and value.isdigit():
                return value
            raise bad
        if kind == "name" and value.lower() in ("true", "false") and data_type == "boolean":
            return value.lower() == "true"
        if kind == "end":
            raise self.error_taken("expected a value")
        raise bad


def _comparable(value, data_type):
    """A record value in the form literals are compared with."""
    if value is None:
        return None
    if data_type in LOOKUP_TYPES:
        return value["id"]
    if data_type == "bigint":
        return int(value)
    if data_type == "datetime":
        return datetime.fromisoformat(value).timestamp()
    if data_type in TEXT_TYPES:
        return value.lower()
    return value


def _comparator(column, data_type, op, literal):
    if isinstance(literal, str) and data_type in TEXT_TYPES:
        literal = literal.lower()  # COQL text comparisons ignore case

    def compare(row):
        value = _comparable(row.value(column), data_type)
        if op == "!=":
            return value != literal
        if value is None:
            return False
        return {"=": value == literal, "<": value < literal, ">": value > literal,
                "<=": value <= literal, ">=": value >= literal}[op]
    return compare


class Row:
    """A record as COQL sees it: plain fields, and lookups followed into the related record."""

    def __init__(self, record, org):
        self.record, self.org = record, org

    def value(self, column):
        value = self.record.get(column.field.api_name)
        if column.sub is None or value is None:
            return value
        if column.field.data_type == "ownerlookup":
            user = next(u for u in self.org.users if u["id"] == value["id"])
            return user[column.sub]
        target = self.org.modules[column.field.lookup]
        return target.record(target.index(value["id"])).get(column.sub)

    def output(self, column):
        """Output shape: lookups as {name, id}, users by last name (reference §6.6)."""
        value = self.value(column)
        if column.sub is None and column.field.data_type == "ownerlookup" and value is not None:
            user = next(u for u in self.org.users if u["id"] == value["id"])
            return {"name": user["last_name"], "id": value["id"]}
        if column.sub is None and column.field.data_type == "lookup" and value is not None:
            return {"name": value.get("name"), "id": value["id"]}
        return value


def run(query: Query, org, orderings) -> tuple:
    """(rows, more_records) for a parsed query."""
    module = org.modules[query.module]
    if any(isinstance(s, Aggregate) for s in query.select) or query.group_by:
        groups = _aggregate(query, module, org)
        ordered = _sorted(groups, query.order_by, lambda row, column: row.get(column.key))
        end = query.offset + query.limit
        return ordered[query.offset:end], len(ordered) > end
    wanted = query.offset + query.limit + 1  # one extra tells whether there are more
    order = query.order_by
    if not order or (len(order) == 1 and order[0][0].key in ("id", "Created_Time", "Modified_Time")):
        # Index order already matches the sort, so stop scanning once enough rows matched.
        sort_by, descending = (order[0][0].key, order[0][1]) if order else ("id", False)
        matches = []
        for index in orderings.ordered(module, sort_by, descending):
            row = Row(module.record(index), org)
            if query.where(row):
                matches.append(row)
                if len(matches) >= wanted:
                    break
    else:
        matches = [row for row in (Row(module.record(i), org) for i in range(module.count)) if query.where(row)]
        matches = _sorted(matches, order, lambda row, column: row.output(column))
    page = matches[query.offset:query.offset + query.limit]
    rows = [{**{c.key: row.output(c) for c in query.select}, "id": row.record["id"]} for row in page]
    return rows, len(matches) > query.offset + query.limit


def _aggregate(query, module, org):
    groups = {}
    for index in range(module.count):
        row = Row(module.record(index), org)
        if query.where(row):
            key = tuple(_hashable(row.output(c)) for c in query.group_by)
            groups.setdefault(key, (row, []))[1].append(row)
    results = []
    for first, rows in groups.values():
        result = {c.key: first.output(c) for c in query.group_by}
        for item in query.select:
            if isinstance(item, Aggregate):
                values = [row.value(item.column) for row in rows]
                values = [v for v in values if v is not None]
                if item.function == "count":
                    result[item.key] = len(values)
                elif not values:
                    result[item.key] = None
                elif item.function == "sum":
                    result[item.key] = sum(values)
                elif item.function == "avg":
                    result[item.key] = sum(values) / len(values)
                else:
                    result[item.key] = (min if item.function == "min" else max)(
                        values, key=lambda v: _sort_key(v))
        results.append(result)
    return results


def _hashable(value):
    return value["id"] if isinstance(value, dict) else value


def _sort_key(value):
    if isinstance(value, dict):
        value = value.get("name") or ""
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value) if value is not None else (0, 0)


def _sorted(rows, order, value_of):
    """Stable multi-key sort, nulls first ascending (last descending)."""
    for column, descending in reversed(order):
        rows = sorted(rows, key=lambda row: _sort_key(value_of(row, column)), reverse=descending)
    return rows
