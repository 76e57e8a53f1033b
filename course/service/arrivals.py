"""Wake the idle service the moment a hand-in lands, rather than at its next look at the exchange.

nbgrader submit's last step opens the submission's folder to everyone (mode 777): a change of that
folder's metadata, which a watch on the inbound folder itself reports (inotify, through watchdog). Only
the inbound folder is watched, not the students' folders in it: a student could make thousands, each a
watch of the service's account. Where inotify cannot be had (no watches left, a file system without it),
the service looks every `poll` seconds, as it always does anyway.
"""

import logging
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger("course.service.arrivals")


class Arrivals(FileSystemEventHandler):
    def __init__(self, inbound: Path):
        self._changed = threading.Event()
        self._observer = Observer()
        try:
            self._observer.schedule(self, str(inbound), recursive=False)
            self._observer.start()
        except OSError as error:
            log.warning("cannot watch %s (%s): looking at it every few seconds instead", inbound, error)
            self._observer = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._changed.set()

    def wait(self, timeout: float) -> None:
        """Return when something changed in the inbound folder since the last call, or after timeout seconds."""
        self._changed.wait(timeout)
        self._changed.clear()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
