"""Ports to the outside world (clock, blob store, timestamp authority) with in-memory fakes.

They import nothing of Flask so that ``sync/`` and ``workers/`` can use them; the app factory
chooses the implementations and hangs them on ``app.extensions["dangan.ports"]``.
"""

from dataclasses import dataclass
from typing import Any

from ports.blobstore import BlobStore
from ports.clock import Clock


@dataclass
class Ports:
    """The adapters one app (or one worker process) uses."""

    clock: Clock
    blobs: BlobStore
    tsa: Any = None  # set by the evidence layer (workers/timestamping)
    # the export store (ports.exportstore: evidence bundles kept on the server); the app
    # factory sets it. Not imported here: the offline verifier shipped in bundles imports this package.
    exports: Any = None
