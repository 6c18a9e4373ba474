"""Is an offset-paged API pull complete? A ledger of what the pages promised (`meta`) and what they delivered.

An API that pages by offset over a set ordered by `updated_at` can hand over fewer records than it says it has,
or the same records twice, and still answer every request with 200. Such a pull must not be taken as complete,
or records are silently lost (and their absence published). The ledger checks, counting only (never listing ids):

- `meta.total` and `meta.total_pages` stay the same on every page, and `total_pages` is `ceil(total / per_page)`
  (`per_page` as the API answers it: it may cap what we asked for; an empty result may say 0 or 1 pages). With
  `updated_since`, `total` counts the filtered set, so the comparison is the same;
- records received (all of them, bad ones included) equal `meta.total`;
- no page before the last is shorter than `per_page`;
- no page repeats an earlier page, and no record (by key) comes twice unchanged, or twice with different values
  but no newer `updated_at`.

Allowed: the same key on a later page with a **newer** `updated_at`. A record the agency updates while we page
moves to the end of the order; it is a real new version, kept and counted (staging keeps the newest version per
key), and the caller holds its watermark back because the records behind the old place slid one page back (one
may have been skipped; the next pull reads that span again). A `meta.total` that changes between pages means
records were added or removed meanwhile: the caller reads the set again from page 1 a few times before giving up.
Anything else is an inconsistent pull: it is rejected whole, nothing is stored, the watermark stays, and the next
scheduled run pulls again.
"""

from __future__ import annotations

import math
from datetime import datetime

# How a record seen before is classified.
NEW, MOVED, UNCHANGED, STALE = "new", "moved", "unchanged", "stale"


class PageLedger:
    """Fed page by page (`page`, then `record` for each of its records); `problems()` at the end."""

    def __init__(self, requested_per_page: int):
        self.requested_per_page = requested_per_page
        self.total: int | None = None
        self.total_pages: int | None = None
        self.per_page: int | None = None
        self.pages = 0
        self.received = 0
        self.counts = {NEW: 0, MOVED: 0, UNCHANGED: 0, STALE: 0}
        self._short: list[tuple[int, int]] = []  # (page, records)
        self._repeats: list[tuple[int, int]] = []  # (page, earlier page it repeats)
        self._page_digests: dict[bytes, int] = {}
        self._seen: dict[str, tuple[bytes, datetime | None]] = {}  # key -> (content digest, updated_at)
        self._meta_changed: str | None = None

    def page(self, number: int, total: int, total_pages: int, per_page: int | None, records: int,
             digest: bytes) -> bool:
        """Account for one page's meta and size. False when its meta contradicts the first page (stop paging)."""
        if self.total is None:
            self.total, self.total_pages = total, total_pages
            self.per_page = per_page or self.requested_per_page
        elif (total, total_pages) != (self.total, self.total_pages):
            self._meta_changed = (f"meta.total changed from {self.total} to {total} at page {number}"
                                  if total != self.total else
                                  f"meta.total_pages changed from {self.total_pages} to {total_pages} at page {number}")
            return False
        self.pages += 1
        self.received += records
        if number < self.total_pages and records < self.per_page:
            self._short.append((number, records))
        if records:
            earlier = self._page_digests.setdefault(digest, number)
            if earlier != number:
                self._repeats.append((number, earlier))
        return True

    def record(self, key: str | None, digest: bytes, updated_at: datetime | None) -> str:
        """Classify one record by its key: new, moved (newer updated_at), unchanged or stale repeat."""
        if key is None:
            self.counts[NEW] += 1  # nothing to match it by; the counts and page repeats still cover it
            return NEW
        before = self._seen.get(key)
        if before is None:
            kind = NEW
        elif before[0] == digest:
            kind = UNCHANGED
        elif updated_at is not None and before[1] is not None and updated_at > before[1]:
            kind = MOVED
        else:
            kind = STALE
        if kind in (NEW, MOVED):
            self._seen[key] = (digest, updated_at)
        self.counts[kind] += 1
        return kind

    @property
    def meta_changed(self) -> str | None:
        """How a later page's meta contradicted the first page's (the data changed while paging), or None."""
        return self._meta_changed

    @property
    def distinct(self) -> int:
        return self.received - self.counts[MOVED] - self.counts[UNCHANGED] - self.counts[STALE]

    def problems(self) -> list[str]:
        """What makes the pull incomplete or inconsistent; empty when it can be taken as complete."""
        found = []
        if self._meta_changed:
            found.append(self._meta_changed + " (the data changed while paging)")
        if self.total is None:
            return found
        needed = math.ceil(self.total / self.per_page)
        # an empty result is one empty page to many paginators (Laravel's last_page is 1), none to others
        allowed = {0, 1} if self.total == 0 else {needed}
        if self.total_pages not in allowed:
            found.append(f"meta.total_pages says {self.total_pages}, but {self.total} record(s) at {self.per_page} "
                         f"per page need {needed}")
        if not self._meta_changed and self.received != self.total:
            found.append(f"{self.received} record(s) received in {self.pages} page(s)")
        found += [f"page {page} repeats page {earlier}" for page, earlier in self._repeats[:5]]
        if len(self._repeats) > 5:
            found.append(f"{len(self._repeats) - 5} more repeated page(s)")
        if self.counts[UNCHANGED]:
            found.append(f"{self.counts[UNCHANGED]} record(s) served again unchanged")
        if self.counts[STALE]:
            found.append(f"{self.counts[STALE]} record(s) served again with other values but no newer updated_at")
        found += [f"page {page} has {records} record(s), fewer than per_page {self.per_page}, before the last "
                  f"page {self.total_pages}" for page, records in self._short[:5]]
        if len(self._short) > 5:
            found.append(f"{len(self._short) - 5} more short page(s)")
        return found

    def reason(self) -> str | None:
        """The rejection reason (counts only), or None if the pull is complete and consistent."""
        problems = self.problems()
        if not problems:
            return None
        return (f"incomplete pull: meta.total says {self.total}, {self.distinct} distinct record(s) received; "
                + "; ".join(problems))
