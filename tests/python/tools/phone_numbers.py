"""Phone numbers for the differential test of liaison's normaliser (crates/selectors/tests/
phonenumbers.rs) against Python `phonenumbers` (the Python port of Google's libphonenumber).

Prints one JSON object per line: {"raw", "region", "e164"}. For each of REGIONS it varies the
example numbers of every number type, keeps the ones `phonenumbers` holds valid, and writes
each in several forms a analyst meets (national, international, E.164, RFC 3966, with the
`00` prefix, in Arabic-Indic and full-width digits); `e164` is what `phonenumbers` makes of
the raw text read in the region. Deterministic: a fixed seed.

    python phone_numbers.py [COUNT]      # default 12000 lines
"""

import json
import random
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

REGIONS = [
    "US", "GB", "RU", "IR", "FR", "DE", "IL", "AE", "SA", "EG", "TR", "IN", "PK", "CN",
    "JP", "BR", "MX", "NG", "UA", "AF",
]
TYPES = [
    PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP,
]
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def variants(number, region):
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    yield national
    yield international
    yield e164
    yield phonenumbers.format_number(number, PhoneNumberFormat.RFC3966).removeprefix("tel:")
    yield "00" + e164[1:]
    yield international.translate(ARABIC_INDIC)
    yield international.translate(FULL_WIDTH)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
    rng = random.Random(20261130)
    out = 0
    while out < count:
        region = rng.choice(REGIONS)
        kind = rng.choice(TYPES)
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        digits = str(example.national_number)
        keep = max(1, len(digits) - 4)
        tail = "".join(rng.choice("0123456789") for _ in range(len(digits) - keep))
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(digits[:keep] + tail)
        )
        if not phonenumbers.is_valid_number(candidate):
            continue
        raw = rng.choice(list(variants(candidate, region)))
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(parsed):
            continue
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        print(json.dumps({"raw": raw, "region": region, "e164": e164}, ensure_ascii=False))
        out += 1


if __name__ == "__main__":
    main()
