"""How the demo shows things to a person: counts as words, events by what
they are, text never cut in the middle of a word, an HTTP status once.
Shared by demo_report.py and demo_replay.py."""
import json


def counts(d, none="none"):
    """{'acme-degreed': 3, 'globex-sf': 1} -> "acme-degreed 3, globex-sf 1"
    (zeros left out)."""
    items = [f"{k} {v}" for k, v in sorted((d or {}).items()) if v]
    return ", ".join(items) if items else none


def shorten(text, limit=200):
    """The whole text when it fits, else cut at the last space before
    `limit` and ended with an ellipsis (never in the middle of a word)."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    if cut <= 0:
        cut = limit
    return text[:cut].rstrip(" ,;:") + " …"


def _value(value):
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def event(value, key=None):
    """What a record is: "event comp-9 (zoe@acme.example, assessment 191)",
    "event cat-7 (course 107)", or its key when the value is not an event
    ("(no event id)" for a record without a key)."""
    v = _value(value)
    if not isinstance(v, dict):
        return f"key {key} (value not JSON)" if key is not None else "(value not JSON)"
    parts = []
    user = v.get("user")
    if isinstance(user, dict):
        who = user.get("email") or user.get("sso_nameid") or user.get("id")
        if who:
            parts.append(str(who))
    content = v.get("content")
    if isinstance(content, dict):
        parts.append(" ".join(str(x) for x in (content.get("type"), content.get("id")) if x))
    what = f" ({', '.join(p for p in parts if p)})" if any(parts) else ""
    eid = v.get("event_id")
    if eid:
        return f"event {eid}{what}"
    return f"key {key}{what}" if key is not None else f"(no event id){what}"


def failure(message, status=None):
    """The dead letter's message, with the HTTP status once: the engine's
    message already names it ("rejected by the LMS (HTTP 400)")."""
    message = message or ""
    if status and f"HTTP {status}" not in message:
        return f"HTTP {status}: {message}" if message else f"HTTP {status}"
    return message


def lms_said(body):
    """The useful words of an LMS error body (Degreed's JSON:API detail,
    OData's message), else the body itself."""
    try:
        b = json.loads(body)
        if isinstance(b, dict):
            if isinstance(b.get("errors"), list) and b["errors"]:
                e = b["errors"][0]
                return e.get("detail") or e.get("title") or body
            err = b.get("error")
            if isinstance(err, dict):
                msg = err.get("message")
                if isinstance(msg, dict):  # OData v2: {"lang": .., "value": ..}
                    msg = msg.get("value")
                return msg or body
            if isinstance(err, str):  # OAuth: {"error": .., "error_description": ..}
                return b.get("error_description") or err
    except (ValueError, AttributeError, TypeError):
        pass
    return body
