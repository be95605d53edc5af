"""CSV as the predecessor's users open it: UTF-8 with a BOM (so Excel reads Spanish and Chinese
right), RFC 4180 quoting and CRLF line ends, written batch by batch as the rows arrive."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

from dmt_records.domain.export.columns import Cell

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"


async def csv_stream(header: Sequence[str], batches: AsyncIterator[list[list[Cell]]]) -> AsyncIterator[bytes]:
    """The header line with the BOM, then one chunk of bytes per batch of rows.

    Only one batch is held at a time; a lone surrogate (which UTF-8 cannot carry) becomes ``?``
    rather than ending the download half-way.
    """
    buffer = io.StringIO()
    # QUOTE_MINIMAL quotes exactly what RFC 4180 asks for: a comma, a quote (doubled) or a line break.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def take() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8", "replace")

    buffer.write(BOM)
    writer.writerow(header)
    yield take()
    async for rows in batches:
        # the writer writes None as nothing and numbers with str(): amounts have two places, so "12.50"
        writer.writerows(rows)
        yield take()
