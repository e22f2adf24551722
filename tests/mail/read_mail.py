"""Reads one email (an .eml file of tests/mail/smtp_sink.py) with Python's `email` package and
its booking.ics with the `icalendar` parser (pinned in requirements-dev.txt), and prints what the
Rust tests check, as JSON: the headers, the MIME structure, the text and the HTML parts, and the
calendar's METHOD and its one event
(UID, SEQUENCE, STATUS, SUMMARY, LOCATION, DTSTART/DTEND in UTC and in the zone given).

    python tests/mail/read_mail.py FILE.eml ZONE
    python tests/mail/read_mail.py --ics FILE.ics ZONE      (a calendar file alone)
"""
import email
import email.policy
import json
import sys
import zoneinfo

import icalendar


def calendar(data, zone):
    cal = icalendar.Calendar.from_ical(data)
    events = []
    for event in cal.walk("VEVENT"):
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND")
        events.append({
            "uid": str(event.get("UID")),
            "sequence": int(event.get("SEQUENCE", -1)),
            "status": str(event.get("STATUS", "")),
            "summary": str(event.get("SUMMARY", "")),
            "location": str(event.get("LOCATION", "")),
            "description": str(event.get("DESCRIPTION", "")),
            "start_utc": start.astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(),
            "end_utc": end.astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(),
            "start_local": start.astimezone(zoneinfo.ZoneInfo(zone)).isoformat(),
            "end_local": end.astimezone(zoneinfo.ZoneInfo(zone)).isoformat(),
        })
    return {"method": str(cal.get("METHOD", "")), "events": events}


def main():
    if sys.argv[1] == "--ics":
        with open(sys.argv[2], "rb") as f:
            print(json.dumps(calendar(f.read(), sys.argv[3])))
        return
    with open(sys.argv[1], "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",))
    attachments = [p for p in message.iter_attachments()]
    ics = [p for p in attachments if p.get_filename() == "booking.ics"]
    out = {
        "to": str(message["To"]),
        "envelope_to": str(message["X-Envelope-To"]),
        "from": str(message["From"]),
        "subject": str(message["Subject"]),
        "message_id": str(message["Message-ID"]),
        "text": text,
        "html": html.get_content() if html is not None else None,
        # every part's content type, depth first: multipart/mixed, multipart/alternative, ...
        "structure": [p.get_content_type() for p in message.walk()],
        "attachments": [p.get_filename() for p in attachments],
        "ics_content_type": ics[0].get_content_type() if ics else None,
        "ics_method_param": ics[0].get_param("method") if ics else None,
        "calendar": calendar(ics[0].get_content().encode() if isinstance(ics[0].get_content(), str)
                             else ics[0].get_content(), sys.argv[2]) if ics else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
