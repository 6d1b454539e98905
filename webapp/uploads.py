"""Uploads go to disk in chunks and stop at a cap (``NEWSEVAL_UPLOAD_MAX_BYTES``).

Django keeps small uploads in memory and has no limit on a file's size; a corpus file
can be large, and one sent by mistake (or by someone hostile) could be any size. The
handler here runs before Django's temporary-file handler: it lets chunks through until a
file passes the cap, then stops reading that upload and notes why on the request, so the
form can say so. Nothing of a refused file is kept.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

REFUSED_ATTRIBUTE = "newseval_upload_refused"


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


class CappedUploadHandler(FileUploadHandler):
    """Refuse any uploaded file over ``NEWSEVAL_UPLOAD_MAX_BYTES``."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.cap = settings.NEWSEVAL_UPLOAD_MAX_BYTES

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.cap:
            setattr(
                self.request,
                REFUSED_ATTRIBUTE,
                f"{self.file_name}: the file is larger than the upload limit of "
                f"{format_bytes(self.cap)} (NEWSEVAL_UPLOAD_MAX_BYTES)",
            )
            # Read and drop the rest of the body, so the browser gets the page that says why.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (a temporary file on disk) holds the file


def upload_refusal(request) -> str | None:
    """Why an upload in this request was refused, or None."""
    return getattr(request, REFUSED_ATTRIBUTE, None)
