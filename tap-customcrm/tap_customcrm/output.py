"""Singer output: the SDK's writer, with RECORD lines encoded by the standard library's C encoder and not flushed.

The SDK encodes every message with simplejson (`use_decimal`, a `default` hook), about twice the cost of the
stdlib encoder for a Customcrm order. Customcrm records are decoded JSON holding only str, int, bool, None,
lists and dicts, which both encoders render to the same bytes; anything else (a Decimal, a datetime, NaN) makes
the stdlib encoder raise, and that message goes the SDK's way instead, so the output never differs.

The SDK also flushes stdout after every message. RECORD lines are left to the stream's buffer instead; every
other message (SCHEMA, STATE, ...) flushes it, so a STATE line never reaches the target before the records it
covers, and records not yet flushed when a run dies are covered by no STATE: the next run reads them again.
"""

from __future__ import annotations

import json
import sys

from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage

# Decoded JSON cannot hold a cycle, so the encoder's cycle check would only cost time.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False).encode


def record_line(message: RecordMessage) -> str:
    """The RECORD line the SDK would write, keys in its order, built around the one encoding of the record."""
    line = '{"type":"RECORD","stream":' + _encode(message.stream) + ',"record":' + _encode(message.record)
    if message.version is not None:
        line += ',"version":' + _encode(message.version)
    if message.time_extracted is not None:
        line += ',"time_extracted":"' + message.time_extracted.isoformat() + '"'
    return line + "}"


class RecordLineWriter(SingerWriter):
    def serialize_message(self, message: Message) -> str:
        if type(message) is RecordMessage:
            try:
                return record_line(message)
            except (TypeError, ValueError):
                pass
        return super().serialize_message(message)

    def write_message(self, message: Message) -> None:
        sys.stdout.write(self.format_message(message) + "\n")
        if type(message) is not RecordMessage:
            sys.stdout.flush()
