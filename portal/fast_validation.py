"""A fast path through a DRF serializer, for endpoints that validate many items at once.

`compile_validator(serializer)` returns a function that validates a plainly valid item
exactly as `serializer.run_validation` would, without DRF's per-field plumbing (a batch of
1,000 messages spends more in that plumbing than in storing them). For anything it is not
sure of (a type DRF would coerce, a value a validator refuses, a missing required field, a
null) it answers NOT_SURE and the caller asks DRF, which gives the result or the error.
So it never accepts what DRF refuses, never returns other data, and every error message
still comes from DRF. The rules stay where they are declared: on the serializer's fields.
"""

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator
from rest_framework import fields, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

NOT_SURE = object()
_Check = Callable[[Any], Any]


class _NotSure(Exception):
    pass


def compile_validator(serializer: serializers.Serializer) -> Callable[[Any], Any]:
    """A function of one item: its validated data, or NOT_SURE when DRF must decide."""
    check = _serializer_check(serializer)

    def validate(item):
        try:
            return check(item)
        except (_NotSure, ValidationError, DjangoValidationError):
            return NOT_SURE

    return validate


_SURROGATE = re.compile("[\ud800-\udfff]")


def _validators_check(field: fields.Field) -> Callable[[Any], None]:
    """A check running the field's validators; DRF's commonest ones as cheap equivalents."""
    checks = []
    for validator in field.validators:
        limit = getattr(validator, "limit_value", None)
        if type(validator) is ProhibitSurrogateCharactersValidator:
            # DRF's own looks at each character in Python: a regular expression does not.
            checks.append(_no_surrogates)
        elif type(validator) in (MaxLengthValidator, MinLengthValidator) and type(limit) is int:
            checks.append(_length_within(limit, longest=type(validator) is MaxLengthValidator))
        elif getattr(validator, "requires_context", False):
            checks.append(lambda value, validator=validator: validator(value, field))
        else:
            checks.append(validator)

    def run(value):
        for check in checks:
            check(value)

    return run


def _no_surrogates(value: str) -> None:
    if _SURROGATE.search(value):
        raise _NotSure


def _length_within(limit: int, *, longest: bool) -> Callable[[Any], None]:
    def check(value):
        if (len(value) > limit) if longest else (len(value) < limit):
            raise _NotSure

    return check


def _serializer_check(serializer: serializers.Serializer) -> _Check:
    members = []
    for field in serializer._writable_fields:
        if field.source != field.field_name:
            raise TypeError(f"{field.field_name}: a source other than the name is not supported")
        validate_method = getattr(serializer, f"validate_{field.field_name}", None)
        members.append((field.field_name, field, _field_check(field), validate_method))
    has_validators = bool(serializer.validators)
    validate_all = serializer.validate

    def check(data):
        if type(data) is not dict:
            raise _NotSure
        validated = {}
        for name, field, check_value, validate_method in members:
            if name in data:
                value = data[name]
                if value is None:
                    raise _NotSure
                value = check_value(value)
            elif field.required:
                raise _NotSure
            elif field.default is not fields.empty:
                value = field.get_default()
            else:
                continue
            if validate_method is not None:
                value = validate_method(value)
            validated[name] = value
        if has_validators:
            raise _NotSure
        return validate_all(validated)

    return check


def _field_check(field: fields.Field) -> _Check:
    """A check of one present, non-null value of the field; raises _NotSure when unsure."""
    if isinstance(field, serializers.Serializer):
        return _serializer_check(field)
    run_validators = _validators_check(field)
    if isinstance(field, fields.ChoiceField):
        choices = field.choice_strings_to_values

        def check_choice(value):
            if type(value) is not str or value not in choices:
                raise _NotSure
            value = choices[value]
            run_validators(value)
            return value

        return check_choice
    if isinstance(field, fields.CharField):
        trim, allow_blank = field.trim_whitespace, field.allow_blank

        def check_text(value):
            if type(value) is not str:
                raise _NotSure
            if trim:
                value = value.strip()
            if value == "":
                if not allow_blank:
                    raise _NotSure
                return value
            run_validators(value)
            return value

        return check_text
    if isinstance(field, (fields.BooleanField, fields.IntegerField)):
        # Exactly a bool or an int: DRF coerces others ("true", 1.0), which it must decide.
        wanted = bool if isinstance(field, fields.BooleanField) else int

        def check_exact(value):
            if type(value) is not wanted:
                raise _NotSure
            run_validators(value)
            return value

        return check_exact
    if isinstance(field, fields.DictField) and type(field.child) is fields._UnvalidatedField:

        def check_mapping(value):
            if type(value) is not dict or (not value and not field.allow_empty):
                raise _NotSure
            if not all(type(key) is str for key in value):
                raise _NotSure
            value = dict(value)
            run_validators(value)
            return value

        return check_mapping
    if isinstance(field, fields.ListField):
        check_item = _field_check(field.child)

        def check_list(value):
            if type(value) is not list or (not value and not field.allow_empty):
                raise _NotSure
            if any(item is None for item in value):
                raise _NotSure
            value = [check_item(item) for item in value]
            run_validators(value)
            return value

        return check_list

    # Any other field: DRF's own validation of that one field.
    def check_other(value):
        try:
            return field.run_validation(value)
        except fields.SkipField as exc:
            raise _NotSure from exc

    return check_other
