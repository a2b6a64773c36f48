"""Search API matching: criteria, email, phone and word searches (reference §6.3)."""

import re
from datetime import datetime

from .fields import LOOKUP_TYPES, NUMBER_TYPES, TEXT_TYPES
from .web import ApiError

MAX_CRITERIA = 10
TEXT_OPERATORS = {"equals", "not_equal", "starts_with", "in"}
ORDERED_OPERATORS = {"equals", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal",
                     "between", "in"}
OPERATORS = {**{t: TEXT_OPERATORS for t in TEXT_TYPES | LOOKUP_TYPES},
             **{t: ORDERED_OPERATORS for t in NUMBER_TYPES | {"date", "datetime"}},
             "boolean": {"equals", "not_equal"}}


def invalid_query(reason: str, **details) -> ApiError:
    return ApiError(400, "INVALID_QUERY", "invalid query formed", {**details, "reason": reason})


def criteria_matcher(text: str, fields: dict):
    """A predicate on records for `criteria=(Field:operator:value)and(...)` (max 10 conditions)."""
    parser = _CriteriaParser(text, fields)
    predicate = parser.expression()
    parser.skip_spaces()
    if parser.pos != len(text):
        raise invalid_query("unexpected text after the criteria", near=text[parser.pos:parser.pos + 20])
    if parser.conditions > MAX_CRITERIA:
        raise ApiError(400, "LIMIT_EXCEEDED", "the number of criteria exceeds the limit",
                       {"limit": MAX_CRITERIA})
    return predicate


def email_matcher(email: str, fields: dict):
    names = [f.api_name for f in fields.values() if f.data_type == "email"]
    wanted = email.strip().lower()
    return lambda record: any((record.get(n) or "").lower() == wanted for n in names)


def phone_matcher(phone: str, fields: dict):
    names = [f.api_name for f in fields.values() if f.data_type == "phone"]
    digits = re.sub(r"\D", "", phone)
    if not digits:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "phone"})
    return lambda record: any(digits in re.sub(r"\D", "", record.get(n) or "") for n in names)


def word_matcher(word: str, fields: dict):
    if len(word.strip()) < 2:
        raise ApiError(400, "INVALID_DATA", "the word given should have at least 2 characters",
                       {"param_name": "word"})
    wanted = word.strip().lower()
    texts = [f.api_name for f in fields.values() if f.data_type in TEXT_TYPES]
    lookups = [f.api_name for f in fields.values() if f.data_type == "lookup"]

    def match(record):
        return (any(wanted in (record.get(n) or "").lower() for n in texts)
                or any(wanted in ((record.get(n) or {}).get("name") or "").lower() for n in lookups))
    return match


class _CriteriaParser:
    def __init__(self, text, fields):
        self.text, self.fields, self.pos, self.conditions = text, fields, 0, 0

    def skip_spaces(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expression(self):
        """group (and|or group)*, with `and` binding tighter than `or`."""
        alternatives = [[self.group()]]
        while True:
            self.skip_spaces()
            word = re.match(r"(and|or)\b|(and|or)(?=\()", self.text[self.pos:], re.IGNORECASE)
            if not word:
                break
            self.pos += len(word.group(0))
            if word.group(0).lower() == "or":
                alternatives.append([])
            alternatives[-1].append(self.group())
        return lambda record: any(all(p(record) for p in chain) for chain in alternatives)

    def group(self):
        self.skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise invalid_query("expected '(' in criteria", near=self.text[self.pos:self.pos + 20])
        self.pos += 1
        self.skip_spaces()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            predicate = self.expression()
        else:
            predicate = self.condition()
        self.skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            raise invalid_query("expected ')' in criteria", near=self.text[self.pos:self.pos + 20])
        self.pos += 1
        return predicate

    def condition(self):
        """Field:operator:value; a backslash escapes ( ) , and \\ inside the value."""
        match = re.match(r"\s*([A-Za-z0-9_$.]+)\s*:\s*([a-z_]+)\s*:", self.text[self.pos:])
        if not match:
            raise invalid_query("expected Field:operator:value", near=self.text[self.pos:self.pos + 20])
        self.pos += match.end()
        values, current = [], []
        while self.pos < len(self.text) and self.text[self.pos] != ")":
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                current.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == ",":
                values.append("".join(current).strip())
                current = []
            else:
                current.append(char)
            self.pos += 1
        values.append("".join(current).strip())
        self.conditions += 1
        return _condition(self.fields, match.group(1), match.group(2), values)


def _condition(fields, name, operator, values):
    field = fields.get(name)
    if field is None:
        raise invalid_query("the field given seems to be invalid", api_name=name)
    if operator not in OPERATORS.get(field.data_type, ()):
        raise invalid_query("invalid operator found", api_name=name, operator=operator)
    if operator == "between" and len(values) != 2:
        raise invalid_query("between needs two values", api_name=name, operator=operator)
    if operator not in ("in", "between"):
        values = [",".join(values)]  # an unescaped comma is only a separator for in/between
    literals = [_literal(field, value, operator) for value in values]
    key = field.api_name

    if field.data_type in LOOKUP_TYPES:
        def matches(value, literal):
            if value is None:
                return False
            name = (value.get("name") or "").lower()
            if operator == "starts_with":
                return name.startswith(literal.lower())
            return value.get("id") == literal or literal.lower() in name
    elif field.data_type in TEXT_TYPES - {"picklist"}:
        def matches(value, literal):  # equals on text behaves like contains (reference §6.3)
            if value is None:
                return False
            if operator == "starts_with":
                return value.lower().startswith(literal.lower())
            if operator == "not_equal":
                return value.lower() == literal.lower()
            return literal.lower() in value.lower()
    elif field.data_type == "picklist":
        def matches(value, literal):
            if value is None:
                return False
            if operator == "starts_with":
                return value.lower().startswith(literal.lower())
            return value.lower() == literal.lower()
    else:
        def matches(value, literal):
            return value == literal

    def compare(record):
        value = record.get(key)
        if field.data_type == "datetime" and value is not None:
            value = datetime.fromisoformat(value).timestamp()
        elif field.data_type == "bigint" and value is not None:
            value = int(value)
        if operator == "not_equal":
            return not matches(value, literals[0])
        if operator in ("equals", "starts_with", "in"):
            return any(matches(value, literal) for literal in literals)
        if value is None:
            return False
        if operator == "between":
            return literals[0] <= value <= literals[1]
        return {"greater_than": value > literals[0], "greater_equal": value >= literals[0],
                "less_than": value < literals[0], "less_equal": value <= literals[0]}[operator]
    return compare


def _literal(field, value, operator):
    """The value of a criteria literal in the field's type, or INVALID_QUERY."""
    try:
        if field.data_type in NUMBER_TYPES:
            return int(value) if field.data_type in ("integer", "bigint") else float(value)
        if field.data_type == "date":
            return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
        if field.data_type == "datetime":
            return datetime.fromisoformat(value).timestamp()
        if field.data_type == "boolean":
            return {"true": True, "false": False}[value.lower()]
    except (ValueError, KeyError):
        raise invalid_query("the value given seems to be invalid", api_name=field.api_name,
                            operator=operator, value=value) from None
    return value
