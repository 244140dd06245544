"""Progress lines for the loader: one line redrawn in place on a terminal, and only one line
per 10% otherwise, so a log of a million-row load stays short."""

import time


class Progress:
    """A one-line progress display (one line per 10% when not on a terminal)."""

    def __init__(self, stream, label: str, total: int):
        self.stream, self.label, self.total = stream, label, total
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last_decile = -1

    def update(self, done: int):
        elapsed = time.monotonic() - self.started
        percent = 100 * done // max(self.total, 1)
        line = f"{self.label}: {done:,}/{self.total:,} ({percent}%) {elapsed:.1f}s"
        if self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif percent // 10 != self.last_decile or done == self.total:
            self.last_decile = percent // 10
            self.stream.write(line + "\n")

    def finish(self):
        if self.tty:
            self.stream.write("\n")
