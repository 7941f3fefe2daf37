"""The deny-list of personal fields: what the API sends that the warehouse has no use for, kept out of it.

Every `raw` column (each stream's objects, the companies, the rows quarantined in
`yclients.rejected_rows`) and every webhook body stored (`yclients.webhook_events.body`, refused bodies)
keeps the object as the API sent it minus these fields, wherever they sit (top level or nested, any
letter case). No column or mart reads them: the columns are read from the object before it is cut.

| field | where it is seen | what it holds |
| --- | --- | --- |
| `passport_data` | staff `employee` block (third-party client schemas, tested against the live API) | passport series, number and issuer |
| `personal_tax_reference_number` | staff `employee` block (same) | tax number (INN) |
| `number_insurance_certificates` | staff `employee` block (same) | pension insurance number (SNILS) |
| `citizenship` | staff `employee` block (same) | citizenship |
| `date_registration_end` | staff `employee` block (same) | end of a migration registration |
| `birth_date` | client objects (yclientsru.apib:4785, 4842) | date of birth |
| `date_birthday` | medicine patients (yclientsru.apib:545) | date of birth |
| `document_name`, `document_number_series` | medical cards (yclientsru.apib:559-560) | an identity document and its number |
| `polis_oms` | medical cards (yclientsru.apib:561) | health insurance policy number |
| `snils`, `inn`, `passport` | medical cards (:562), and the usual names of the above elsewhere | SNILS, INN, passport |
| `place_of_registration` | medical cards (yclientsru.apib:552) | registered home address |

Names, phones and e-mails stay: the warehouse uses them (`client_name`, `client_phone` match app users).
"""

from __future__ import annotations

import re
from typing import Any

DENIED_FIELDS = frozenset(
    {
        "passport_data",
        "personal_tax_reference_number",
        "number_insurance_certificates",
        "citizenship",
        "date_registration_end",
        "birth_date",
        "date_birthday",
        "document_name",
        "document_number_series",
        "polis_oms",
        "snils",
        "inn",
        "passport",
        "place_of_registration",
    }
)
# Each denied name as JSON writes it, for a test of plain substrings (far cheaper than a regex).
_QUOTED = tuple(f'"{name}"'.encode() for name in sorted(DENIED_FIELDS))
# A denied field as a key of text that is no JSON: `"inn":`, `'inn':` or a form's `inn=` (not `dinner:`).
_DENIED_KEY = "|".join(re.escape(name) for name in sorted(DENIED_FIELDS))
_KEY = re.compile(rf"(?<![\w\\])([\"']?)(?:{_DENIED_KEY})\1\s*[:=]\s*", re.IGNORECASE)
# Where a bare value (a number, a word, a form's value) ends.
_BARE_END = re.compile(r"[,}\]&;\s\"']")


def is_denied(key: Any) -> bool:
    """Whether `key` names a denied field (NUL characters aside: raw drops them, so `"inn\\x00"` is `inn`)."""
    return isinstance(key, str) and key.replace("\x00", "").lower() in DENIED_FIELDS


def without_personal(obj: Any) -> Any:
    """`obj` without the denied fields at any depth (a copy where something is cut; `obj` is not changed)."""
    if isinstance(obj, dict):
        return {k: without_personal(v) for k, v in obj.items() if not is_denied(k)}
    if isinstance(obj, list):
        return [without_personal(v) for v in obj]
    return obj


def mentions_personal(json_bytes: bytes) -> bool:
    """Whether JSON may hold a denied field (a cheap test before cutting the object itself; a denied
    name written as a value passes it too, which only costs the cut)."""
    lowered = json_bytes.lower()  # ASCII letters only: every denied name is ASCII
    return any(name in lowered for name in _QUOTED)


def scrub_text(text: str) -> str:
    """Text kept because it could not be parsed (the head of a refused body), with the value of each
    denied field it shows replaced by null: a string, a bare word, or a whole object or list (to the end
    of the text when it is cut off), in JSON-like or form-encoded text."""
    kept: list[str] = []
    done = 0
    for key in _KEY.finditer(text):
        if key.start() < done:  # inside a value already masked
            continue
        kept.append(text[done : key.end()])
        kept.append("null")
        done = _value_end(text, key.end())
    kept.append(text[done:])
    return "".join(kept)


def _value_end(text: str, start: int) -> int:
    """Where the value that begins at `start` ends: after its closing quote or bracket (strings inside
    skipped), or at the first delimiter of a bare value; the end of the text when it is cut off."""
    opening = text[start : start + 1]
    if opening in ('"', "'"):
        position = start + 1
        while position < len(text):
            if text[position] == "\\":
                position += 2
                continue
            if text[position] == opening:
                return position + 1
            position += 1
        return len(text)
    if opening in ("{", "["):
        depth, position, quoted = 0, start, False
        while position < len(text):
            char = text[position]
            if quoted:
                if char == "\\":
                    position += 1
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return position + 1
            position += 1
        return len(text)
    bare = _BARE_END.search(text, start)
    return bare.start() if bare else len(text)
