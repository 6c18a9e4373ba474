"""Education (Dinas Pendidikan): Dapodik students pulled from the agency's HTTP JSON API by `updated_since`.

`GET {base_url}/api/v1/peserta-didik?updated_since=&page=&per_page=` with a bearer token (spec section 2). Each pull
reads pages 1..total_pages of the records with updated_at >= since; the caller passes the last watermark minus an
overlap (`next_since`), because equal timestamps happen, and the loader stores each record version once
(`key_columns`). Transient failures (429 with Retry-After, 5xx, timeouts, dropped connections) are retried with
capped exponential backoff; a refused token fails at once. Messages name the endpoint and page, never the token nor
a record's values.

Every pull is verified against the pages' own `meta` before it is accepted (`lintas.extract.paging`): records
received must equal `meta.total` (with `updated_since`, the filtered total), `total`/`total_pages` must not change
between pages (if they do, records were added meanwhile: the pull reads again from page 1, at most twice more), no
page before the last may be short, no page may repeat an earlier one, and a `peserta_didik_id`
may come twice only with a newer `updated_at` (a record updated while we paged: both versions are kept, staging
takes the newest, and the watermark is held back). Otherwise `PullIncomplete` (a ContractError) rejects the pull
whole with a reason in counts only ("meta.total says 711, 611 distinct record(s) received; page 3 repeats page 2"):
nothing is stored, the watermark stays, and the next scheduled run pulls again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import tenacity

from lintas.extract.contract import ContractError, Delivery, RowError
from lintas.extract.paging import PageLedger

log = logging.getLogger(__name__)

SOURCE = "disdik_peserta_didik"
ENDPOINT = "/api/v1/peserta-didik"
MAX_PER_PAGE = 1000
DEFAULT_OVERLAP = timedelta(minutes=10)
# A timestamp sent without a zone is the agency's local time.
AGENCY_TIMEZONE = ZoneInfo("Asia/Jakarta")

# Contract field -> raw column (same names). Order here is the raw table's column order.
FIELDS: dict[str, str] = {
    name: name
    for name in (
        "peserta_didik_id", "nisn", "nik", "no_kk", "nama", "jenis_kelamin", "tempat_lahir", "tanggal_lahir",
        "nama_ibu_kandung", "alamat_jalan", "rt", "rw", "kelurahan", "kecamatan", "npsn", "nama_sekolah",
        "jenjang", "tingkat_kelas", "penerima_kip", "no_kip", "layak_pip", "updated_at", "deleted",
    )
}
RAW_COLUMNS = ["_page", "_row_number", *FIELDS.values(), "_extra"]
KEY_COLUMNS = ("peserta_didik_id",)


class ApiError(RuntimeError):
    """The Dapodik API could not be read. Messages name the endpoint and page, never the token."""


class ApiAuthError(ApiError):
    """Fatal: the API refused our token (401/403). Retrying cannot help; fix the connection's token."""


class ApiRequestError(ApiError):
    """Fatal: the API rejected the request itself (another 4xx, a redirect, an unusable URL)."""


class ApiUnavailable(ApiError):
    """Transient: the API still failed after the bounded retries (the task retries later)."""


class PullIncomplete(ContractError):
    """The pages contradict their own meta (records missing or served twice): the pull is rejected whole."""


def next_since(watermark: datetime | None, overlap: timedelta = DEFAULT_OVERLAP) -> datetime | None:
    """Where the next pull starts: the last watermark minus the overlap (None = from the start)."""
    return None if watermark is None else watermark - overlap


def parse_timestamp(value) -> datetime | None:
    """An ISO-8601 timestamp as an aware datetime (no zone = Asia/Jakarta); None if blank or not a timestamp."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) <= 10:  # blank, or a bare date: not a timestamp
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=AGENCY_TIMEZONE) if parsed.tzinfo is None else parsed


TOMBSTONE_FIELDS = ("peserta_didik_id", "updated_at", "deleted")


def _text(value) -> str | None:
    """A JSON value as raw text: true/false, numbers as written, strings stripped, blank and null as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))  # nested: kept as JSON


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _shown(url: str) -> str:
    """The endpoint for messages: scheme, host, port and path only (no credentials, no query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _retry_after(response: httpx.Response, cap: float) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), capped; None if absent or unreadable."""
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(when.tzinfo)).total_seconds()
    return min(max(seconds, 0.0), cap)


class _Transient(Exception):
    """One failed request that a retry may fix; `retry_after` (seconds) when the server said when."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


class _Client:
    """GET one page with bounded, backed-off retries."""

    def __init__(self, http: httpx.Client, endpoint: str, *, attempts: int, base_delay: float, max_delay: float,
                 max_retry_after: float, sleep: Callable[[float], None]):
        self.http = http
        self.endpoint = endpoint
        self.shown = _shown(endpoint)
        self.attempts = attempts
        self.exponential = tenacity.wait_exponential(multiplier=base_delay, max=max_delay)
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.requests = 0

    def wait(self, retry_state: tenacity.RetryCallState) -> float:
        """The server's Retry-After if it gave one, else capped exponential backoff with jitter: clients retrying
        together spread out."""
        retry_after = retry_state.outcome.exception().retry_after
        if retry_after is not None:
            return retry_after
        return self.exponential(retry_state) * (0.5 + random.random() / 2)

    def get(self, params: dict[str, str], page: int) -> httpx.Response:
        def log_retry(retry_state: tenacity.RetryCallState) -> None:
            log.warning("%s page %d: %s, retry %d/%d in %.1fs", self.shown, page,
                        retry_state.outcome.exception().problem, retry_state.attempt_number, self.attempts - 1,
                        retry_state.next_action.sleep)

        retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(self.attempts), wait=self.wait,
                                     retry=tenacity.retry_if_exception_type(_Transient), sleep=self.sleep,
                                     before_sleep=log_retry)
        try:
            return retrying(self._get_once, params, page)
        except tenacity.RetryError as failed:
            raise ApiUnavailable(f"{self.shown} page {page}: still failing after {self.attempts} attempt(s) "
                                 f"(last: {failed.last_attempt.exception().problem})") from None

    def _get_once(self, params: dict[str, str], page: int) -> httpx.Response:
        self.requests += 1
        try:
            response = self.http.get(self.endpoint, params=params)
        except httpx.UnsupportedProtocol:
            raise ApiRequestError(f"{self.shown}: not an http(s) URL") from None
        except httpx.TransportError as exc:  # refused, reset, timed out: transient
            raise _Transient(type(exc).__name__) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status in (401, 403):
            raise ApiAuthError(f"{self.shown}: the agency API refused our token (HTTP {status}); "
                               "check the Dapodik connection's token")
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}", _retry_after(response, self.max_retry_after))
        raise ApiRequestError(f"{self.shown} page {page}: HTTP {status}, not retried")


def _whole(meta: dict, name: str, page: int, ref: str, *, required: bool = True) -> int | None:
    value = meta.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ContractError(ref, f"page {page}: meta.{name} is not a whole number")
    return value


def _page_payload(response: httpx.Response, page: int, ref: str) -> tuple[list, int, int, int | None]:
    """(data, meta.total, meta.total_pages, meta.per_page) of one page, or ContractError naming the page."""
    try:
        payload = response.json()
    except ValueError:
        raise ContractError(ref, f"page {page}: response is not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ContractError(ref, f"page {page}: response has no 'data' list")
    meta = payload.get("meta")
    if not isinstance(meta, dict):
        raise ContractError(ref, f"page {page}: response has no 'meta' object")
    total_pages = _whole(meta, "total_pages", page, ref)
    total = _whole(meta, "total", page, ref)
    per_page = _whole(meta, "per_page", page, ref, required=False) or None
    if "page" in meta and meta["page"] != page:
        raise ContractError(ref, f"page {page}: meta.page says {meta['page']!r}")
    return payload["data"], total, total_pages, per_page


def pull(base_url: str, token: str, updated_since: datetime | None, per_page: int = MAX_PER_PAGE, *,
         attempts: int = 6, base_delay: float = 1.0, max_delay: float = 60.0, max_retry_after: float = 300.0,
         timeout: float = 60.0, connect_timeout: float = 10.0, restarts: int = 2,
         sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Read every page of the records changed since `updated_since` (None: all) into one Delivery.

    Raises ApiAuthError/ApiRequestError (fatal), ApiUnavailable (transient, after `attempts` tries per request),
    or ContractError (the delivery breaks the contract: an unreadable page, a field gone from every record;
    PullIncomplete: the pages contradict their meta). A pull whose meta.total changes between pages (records added
    or removed meanwhile) is read again from page 1, at most `restarts` times, before it is rejected.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    if attempts < 1 or restarts < 0:
        raise ValueError("attempts must be >= 1 and restarts >= 0")
    token = token.strip()  # a secret read from a file often ends in a newline
    if not token or not all(33 <= ord(c) < 127 for c in token):  # else the HTTP library's error would quote it
        raise ApiRequestError(f"{_shown(base_url)}: the Dapodik token is empty or has characters not allowed in "
                              "an HTTP header")
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=AGENCY_TIMEZONE)
    since_ref = updated_since.isoformat() if updated_since else "start"
    ref = f"peserta-didik updated_since={since_ref}"
    params = {"per_page": str(per_page)}
    if updated_since is not None:
        params["updated_since"] = updated_since.isoformat()

    http = httpx.Client(
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        follow_redirects=False,
    )
    with http:
        client = _Client(http, base_url.rstrip("/") + ENDPOINT, attempts=attempts, base_delay=base_delay,
                         max_delay=max_delay, max_retry_after=max_retry_after, sleep=sleep)
        for reading in range(1, restarts + 2):
            delivery, state, ledger, last_page = _read_pages(client, params, ref, per_page)
            if ledger.meta_changed is None or reading > restarts:
                break
            # records were added or removed while we paged: a race, not a broken API; read the set again
            log.warning("%s: %s; reading again from page 1 (%d/%d)", ref, ledger.meta_changed, reading, restarts)

    delivery.source_ref = f"{ref} pages 1-{last_page}"
    incomplete = ledger.reason()
    if incomplete:
        raise PullIncomplete(delivery.source_ref, incomplete)
    if state.records:
        absent = [f for f in FIELDS if f not in state.present]
        if absent:
            raise ContractError(delivery.source_ref, f"field(s) absent from every record: {', '.join(absent)} "
                                                     "(renamed or dropped by the agency?)")
    delivery.extra_columns = list(state.extra)
    delivery.watermark = state.watermark()
    if state.moved:
        log.warning("%s: %d record(s) changed while paging (pages may have shifted); the watermark is held back "
                    "so the next pull reads that span again", delivery.source_ref, state.moved)
    log.info("%s: %d request(s), %d row(s), %d quarantined, %d extra field(s)", delivery.source_ref,
             client.requests, len(delivery.rows), len(delivery.errors), len(delivery.extra_columns))
    return delivery


def _read_pages(client: _Client, params: dict[str, str], ref: str,
                per_page: int) -> tuple[Delivery, _State, PageLedger, int]:
    """Pages 1..total_pages (as the first page's meta says) into a Delivery, with the ledger that checks them."""
    delivery = Delivery(source=SOURCE, source_ref=ref, checksum="", period=None, columns=RAW_COLUMNS,
                        key_columns=KEY_COLUMNS)
    digest = hashlib.sha256()
    state = _State()
    ledger = PageLedger(per_page)
    page = 1
    while True:
        response = client.get({**params, "page": str(page)}, page)
        data, total, total_pages, served_per_page = _page_payload(response, page, ref)
        canonical = [_canonical(record) for record in data]
        page_digest = hashlib.md5(b"\n".join(canonical), usedforsecurity=False).digest()
        if not ledger.page(page, total, total_pages, served_per_page, len(data), page_digest):
            break  # the first page's meta is the plan; a page contradicting it ends this reading
        for row_number, (record, text) in enumerate(zip(data, canonical, strict=True), start=1):
            digest.update(text + b"\n")
            key, stamp = _convert(record, page, row_number, delivery, state)
            ledger.record(key, hashlib.md5(text, usedforsecurity=False).digest(), stamp)
        log.debug("%s page %d/%d: %d record(s)", ref, page, total_pages, len(data))
        if page >= ledger.total_pages:
            break
        page += 1
    delivery.checksum = digest.hexdigest()
    return delivery, state, ledger, page


class _State:
    """What a pull learns across pages: fields seen, extra fields, timestamps, records seen twice."""

    def __init__(self) -> None:
        self.records = 0
        self.present: set[str] = set()
        self.extra: dict[str, None] = {}  # ordered set, first seen first
        self.newest: datetime | None = None
        self.first_stamp: dict[str, datetime] = {}
        # Offset paging over a set ordered by updated_at: a record updated mid-pull moves to the end, so the
        # records after its old place slide one page back and one may be skipped. It shows up as an id served
        # twice; holding the watermark at its first timestamp makes the next pull re-read everything after it.
        self.hold: datetime | None = None
        self.moved = 0

    def good(self, key: str, stamp: datetime) -> None:
        self.newest = stamp if self.newest is None or stamp > self.newest else self.newest
        first = self.first_stamp.get(key)
        if first is None:
            self.first_stamp[key] = stamp
        else:
            self.moved += 1
            self.hold = first if self.hold is None or first < self.hold else self.hold

    def watermark(self) -> datetime | None:
        if self.newest is None or self.hold is None:
            return self.newest
        return min(self.newest, self.hold)


def _convert(record, page: int, row_number: int, delivery: Delivery,
             state: _State) -> tuple[str | None, datetime | None]:
    """One API record to a raw row, or to a RowError (quarantine). Returns its id and updated_at, where readable,
    for the paging ledger (which checks quarantined records too)."""
    location = f"page {page}"

    def quarantine(field_name: str, rule: str, reason: str) -> None:
        delivery.errors.append(RowError(row_number, field_name, rule, reason, _compact(record), location))

    if not isinstance(record, dict):
        quarantine("*", "not_an_object", "record is not a JSON object")
        return None, None
    state.records += 1
    found: dict[str, object] = {}
    extra: dict[str, object] = {}
    duplicated = None
    for key, value in record.items():
        name = key.strip().lower()
        if name in FIELDS:
            duplicated = name if name in found else duplicated
            found[name] = value
        else:
            extra[key] = value
            state.extra.setdefault(key)
    values = {f: _text(found.get(f)) for f in FIELDS}
    # a tombstone (the student left the agency's data) needs only its id, updated_at and deleted: many APIs send
    # no more, and its other fields say nothing of which fields the agency sends. `deleted` is the JSON bool true
    # as `_text` renders it: exactly what staging's parse_bool reads as deleted
    tombstone = (values["deleted"] or "").lower() == "true"
    state.present.update(FIELDS if tombstone else found)

    missing = [f for f in FIELDS if f not in found and (not tombstone or f in TOMBSTONE_FIELDS)]
    key, stamp = values["peserta_didik_id"], parse_timestamp(values["updated_at"])
    if duplicated:
        quarantine(duplicated, "duplicate_field", f"field {duplicated} appears more than once (case or spaces)")
    elif missing:
        quarantine(missing[0], "field_missing", f"record lacks field(s): {', '.join(missing)}")
    elif key is None:
        quarantine("peserta_didik_id", "required", "peserta_didik_id is blank")
    elif values["updated_at"] is None:
        quarantine("updated_at", "required", "updated_at is blank")
    elif stamp is None:
        quarantine("updated_at", "timestamp", "updated_at is not an ISO-8601 timestamp")
    else:
        state.good(key, stamp)
        extra_json = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
        delivery.rows.append((page, row_number, *(values[f] for f in FIELDS), extra_json))
    return key, stamp
