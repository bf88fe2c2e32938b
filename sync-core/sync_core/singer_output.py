"""The taps' Singer output: the SDK's msgspec writer (`singer-sdk[msgspec]`), with RECORD lines not flushed one by one.

msgspec writes the same JSON as the SDK's default writer, a third of its cost per record: the same keys in the same
order, Decimals as numbers. The bytes differ in two ways a JSON reader never sees: characters beyond ASCII are
written as UTF-8 rather than `\\u` escapes, and `time_extracted` in UTC ends in `Z` rather than `+00:00`.

The SDK flushes stdout after every message. RECORD lines are left to the stream's buffer instead; every other
message (SCHEMA, STATE, ...) flushes it, so a STATE line never reaches the target before the records it covers,
and records not yet flushed when a run dies are covered by no STATE: the next run reads them again.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class RecordWriter(MsgSpecWriter):
    def write_message(self, message: Message) -> None:
        line = self.format_message(message)
        out = getattr(sys.stdout, "buffer", None)
        if out is None:  # a text-only stdout (a test's StringIO)
            sys.stdout.write(line.decode())
        else:
            out.write(line)
        if type(message) is not RecordMessage:
            sys.stdout.flush()
