"""Delivery status notifications (RFC 3464): the bounce e-mail of a push that failed.

Momentum answered a failed MCMT delivery with a DSN to the message's Return-Path; Pushport
builds the same kind of report for a failed or invalid-token delivery of an injected message.
It is a multipart/report with three parts: a line for people, the machine-readable
message/delivery-status, and the headers the injected part carried (text/rfc822-headers), so
the sender can match the bounce to what it sent.
"""

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

# A device token is not a mail address; RFC 3464 allows an address type of one's own.
ADDRESS_TYPE = "x-apns-device-token"
INVALID_TOKEN = "invalid_token"


@dataclass(frozen=True, slots=True)
class FailedPush:
    """What a DSN says of one failed delivery."""

    delivery_id: str
    message_id: str
    token: str
    # DeliveryStatus: failed or invalid_token.
    status: str
    reason: str
    provider_status: int | None
    failed_at: dt.datetime
    injected_at: dt.datetime


def status_code(failed: FailedPush) -> str:
    """The enhanced status code (RFC 3463) of the failure.

    An invalid token is a recipient that does not exist (5.1.1); anything else that ended the
    delivery is a permanent failure of no closer kind (5.0.0).
    """
    return "5.1.1" if failed.status == INVALID_TOKEN else "5.0.0"


def _fields(pairs: list[tuple[str, str]]) -> Message:
    block = Message()
    for name, value in pairs:
        block[name] = value
    return block


def build(
    *, failed: FailedPush, return_path: str, sender: str, reporting_host: str
) -> MIMEMultipart:
    """The DSN of one failed delivery, addressed to `return_path` from `sender`."""
    diagnostic = failed.reason
    if failed.provider_status:
        diagnostic = f"{failed.provider_status} {failed.reason}".strip()
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"Mail Delivery System <{sender}>"
    report["To"] = return_path
    report["Subject"] = "Undelivered push notification: returned to sender"
    report["Date"] = email.utils.format_datetime(failed.failed_at)
    report["Message-ID"] = email.utils.make_msgid(domain=reporting_host)
    report["Auto-Submitted"] = "auto-replied"
    report.attach(
        MIMEText(
            "The push notification below could not be delivered to the device "
            f"{failed.token}.\n\nReason: {diagnostic or 'not given'}\n"
            f"Pushport delivery {failed.delivery_id} of message {failed.message_id}.\n"
        )
    )
    status = Message()
    status["Content-Type"] = "message/delivery-status"
    status.set_payload(
        [
            _fields(
                [
                    ("Reporting-MTA", f"dns; {reporting_host}"),
                    ("X-Pushport-Message-Id", failed.message_id),
                    ("Arrival-Date", email.utils.format_datetime(failed.injected_at)),
                ]
            ),
            _fields(
                [
                    ("Final-Recipient", f"{ADDRESS_TYPE}; {failed.token}"),
                    ("Action", "failed"),
                    ("Status", status_code(failed)),
                    ("Diagnostic-Code", f"x-apns; {diagnostic or 'not given'}"),
                    ("Last-Attempt-Date", email.utils.format_datetime(failed.failed_at)),
                    ("X-Pushport-Delivery-Id", failed.delivery_id),
                ]
            ),
        ]
    )
    report.attach(status)
    headers = MIMEText(
        f"Content-Type: message/vnd.msys.apn\nX-Device-Token: {failed.token}\n"
        f"Return-Path: {return_path}\n",
        "rfc822-headers",
    )
    report.attach(headers)
    return report
