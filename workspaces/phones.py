"""Phone numbers through libphonenumber: parse, validate, E.164."""

import phonenumbers

SUPPORTED_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def to_e164(raw: str, default_country: str | None = None) -> str | None:
    """The number in E.164, or None when libphonenumber does not call it a valid number."""
    try:
        parsed = phonenumbers.parse(str(raw), default_country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_of(e164: str) -> str | None:
    """The ISO 3166 alpha-2 region a valid E.164 number belongs to."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
