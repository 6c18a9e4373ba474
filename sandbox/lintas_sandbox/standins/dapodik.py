"""Stand-in for the education agency's Dapodik API (shared/spec/agency-extracts.md, section 2).

`GET /api/v1/peserta-didik?updated_since=<ISO-8601>&page=<n>&per_page=<k>` with `Authorization: Bearer <token>`,
answering `{"data": [...], "meta": {"page", "per_page", "total", "total_pages"}}` from an in-memory list of student
records (loaded from a JSONL file, one record per line, in contract field names). Records are ordered by
(updated_at, peserta_didik_id); `updated_since` is inclusive. A timestamp without a zone is the agency's local time
(Asia/Jakarta). A record whose updated_at cannot be parsed sorts first and is only served without `updated_since`.

Faults are injected the way the real service misbehaves: 429 with `Retry-After`, 500/502/503, and (for contract
tests) truncated JSON or a body without `meta` — by request number, every Nth request, or at a seeded rate. Paging
faults answer 200 with plausible but inconsistent pages, by page number: a page that repeats an earlier page's
records, records dropped from a page, a `meta.total` that overstates the records, a total that changes mid-pull.

    with DapodikServer(records, token="t") as api:   # 127.0.0.1, ephemeral port, background thread
        dapodik.pull(api.base_url, "t", None)
"""

from __future__ import annotations

import argparse
import bisect
import hmac
import json
import logging
import math
import random
import signal
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

PATH = "/api/v1/peserta-didik"
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
AGENCY_TIMEZONE = ZoneInfo("Asia/Jakarta")
_UNPARSABLE = datetime.min.replace(tzinfo=AGENCY_TIMEZONE)

# Fault kinds, usable in Faults.script
THROTTLE = "429"
SERVER_ERRORS = ("500", "502", "503")
TRUNCATED = "truncated"  # 200 with the JSON body cut in half
NO_META = "no_meta"  # 200 with {"data": [...]} only
FAULT_KINDS = (THROTTLE, *SERVER_ERRORS, TRUNCATED, NO_META)


@dataclass
class Faults:
    """Which authorised requests misbehave. Requests are numbered from 1 in arrival order (after the auth check).

    `script` names the fault of given request numbers exactly; otherwise every Nth request (`*_every`) or a seeded
    random share of them (`*_rate`) is throttled (429) or fails (a 5xx drawn from `error_statuses`).
    """

    seed: int = 0
    throttle_every: int = 0
    throttle_rate: float = 0.0
    retry_after: float = 1  # seconds, sent in the Retry-After header of a 429
    error_every: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    script: Mapping[int, str] = field(default_factory=dict)
    # Paging faults, by page number (they fire on every request for that page, retries included):
    repeat_pages: Mapping[int, int] = field(default_factory=dict)  # page -> earlier page whose records it serves
    drop_records: Mapping[int, int] = field(default_factory=dict)  # page -> records left out of it (meta unchanged)
    total_delta: int = 0  # meta.total over- (or under-) states the records by this many; total_pages follows it
    total_changes: Mapping[int, int] = field(default_factory=dict)  # from page p on, meta.total changes by d

    def __post_init__(self) -> None:
        unknown = sorted(set(self.script.values()) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; known: {', '.join(FAULT_KINDS)}")


def parse_timestamp(text) -> datetime | None:
    """ISO-8601 to an aware datetime (no zone = Asia/Jakarta); None if not a timestamp."""
    if not isinstance(text, str) or len(text.strip()) <= 10:  # a bare date is not a timestamp
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=AGENCY_TIMEZONE) if parsed.tzinfo is None else parsed


def load_jsonl(path: Path) -> list[dict]:
    """Records from a JSONL file: one JSON object per line, blank lines ignored."""
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}: line {number} is not a JSON object")
            records.append(record)
    return records


def _sort_key(record: dict) -> tuple[datetime, str]:
    stamp = parse_timestamp(record.get("updated_at"))
    return (stamp or _UNPARSABLE, str(record.get("peserta_didik_id") or ""))


def _json(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class DapodikServer:
    """The agency's API on a background thread. Thread-safe: records and faults can change while it serves."""

    def __init__(self, records: Iterable[dict] = (), *, token: str, faults: Faults | None = None,
                 host: str = "127.0.0.1", port: int = 0, data_path: Path | None = None, watch: bool = False,
                 page_cap: int | None = None):
        if not token:
            raise ValueError("the stand-in needs a bearer token")
        self._token = token.encode("utf-8")
        # like many real APIs, serve at most this many records per page whatever was asked (meta.per_page says so)
        self._page_cap = page_cap
        self._lock = threading.RLock()
        self._records: list[dict] = []
        self._ordered: list[dict] | None = None  # records in the API's order, with their sort keys alongside
        self._keys: list[tuple[datetime, str]] = []
        self.replace(records)
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._host, self._port = host, port
        self._data_path = Path(data_path) if data_path else None
        self._watch = watch and self._data_path is not None
        self._data_stamp = self._file_stamp()
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset_counters()

    @classmethod
    def from_jsonl(cls, path: Path, *, token: str, watch: bool = False, **kwargs) -> DapodikServer:
        """Serve the records of a JSONL file; with watch, re-read it whenever it changes (the agency's new state)."""
        return cls(load_jsonl(path), token=token, data_path=path, watch=watch, **kwargs)

    # -- records -----------------------------------------------------------------------------------------------

    def replace(self, records: Iterable[dict]) -> None:
        """Replace every record (the agency's whole data set)."""
        with self._lock:
            self._records = [dict(r) for r in records]
            self._ordered = None

    def upsert(self, records: Iterable[dict]) -> None:
        """Add records, or replace those with the same peserta_didik_id (records without an id are added)."""
        with self._lock:
            position = {r.get("peserta_didik_id"): i for i, r in enumerate(self._records)
                        if r.get("peserta_didik_id") is not None}
            for record in records:
                key = record.get("peserta_didik_id")
                if key is not None and key in position:
                    self._records[position[key]] = dict(record)
                else:
                    if key is not None:
                        position[key] = len(self._records)
                    self._records.append(dict(record))
            self._ordered = None

    def records(self) -> list[dict]:
        """A copy of the records in the API's order."""
        with self._lock:
            return [dict(r) for r in self._in_order()]

    def _in_order(self) -> list[dict]:
        if self._ordered is None:
            keyed = sorted(((_sort_key(r), i) for i, r in enumerate(self._records)))
            self._keys = [key for key, _ in keyed]
            self._ordered = [self._records[i] for _, i in keyed]
        return self._ordered

    def _file_stamp(self) -> tuple[int, int] | None:
        if self._data_path is None or not self._data_path.exists():
            return None
        stat = self._data_path.stat()
        return stat.st_mtime_ns, stat.st_size

    def _reload_if_changed(self) -> None:
        stamp = self._file_stamp()
        if stamp is None or stamp == self._data_stamp:
            return
        try:
            records = load_jsonl(self._data_path)
        except (OSError, ValueError) as exc:  # a file being rewritten: keep serving the old records
            log.warning("dapodik stand-in: not reloading %s (%s)", self._data_path, exc)
            return
        self.replace(records)
        self._data_stamp = stamp
        log.info("dapodik stand-in: reloaded %d record(s) from %s", len(records), self._data_path)

    # -- faults and counters -------------------------------------------------------------------------------------

    def set_faults(self, faults: Faults | None) -> None:
        """New fault plan; request numbering and the random sequence start again."""
        with self._lock:
            self.faults = faults or Faults()
            self._rng = random.Random(self.faults.seed)
            self._sequence = 0

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = 0  # every request answered, whatever its status
            self.statuses: Counter[int] = Counter()
            self.faults_injected: Counter[str] = Counter()  # by fault kind: "429", "500", "truncated", ...
            self._sequence = 0

    @property
    def throttled(self) -> int:
        return self.faults_injected[THROTTLE]

    @property
    def errors_injected(self) -> int:
        return sum(self.faults_injected[k] for k in SERVER_ERRORS)

    def _next_fault(self) -> str | None:
        faults = self.faults
        self._sequence += 1
        n = self._sequence
        # draw both numbers on every request so the sequence does not depend on which faults fired
        throttle_draw, error_draw = self._rng.random(), self._rng.random()
        if n in faults.script:
            return faults.script[n]
        if (faults.throttle_every and n % faults.throttle_every == 0) or throttle_draw < faults.throttle_rate:
            return THROTTLE
        if (faults.error_every and n % faults.error_every == 0) or error_draw < faults.error_rate:
            return str(self._rng.choice(faults.error_statuses))
        return None

    # -- the protocol ----------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body). Counts it."""
        with self._lock:
            status, headers, body = self._answer(method, target, authorization)
            self.requests += 1
            self.statuses[status] += 1
        return status, headers, body

    def _answer(self, method: str, target: str, authorization: str | None):
        url = urlsplit(target)
        if url.path.rstrip("/") != PATH:
            return _error(404, "not_found", "no such endpoint")
        if method != "GET":
            return _error(405, "method_not_allowed", "only GET is supported", {"Allow": "GET"})
        if not self._authorised(authorization):
            return _error(401, "unauthorized", "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
        if self._watch:
            self._reload_if_changed()
        fault = self._next_fault()
        if fault == THROTTLE:
            self.faults_injected[fault] += 1
            retry_after = self.faults.retry_after
            seconds = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
            return _error(429, "too_many_requests", "rate limit exceeded", {"Retry-After": seconds})
        if fault in SERVER_ERRORS:
            self.faults_injected[fault] += 1
            return _error(int(fault), "server_error", "upstream failure")

        params = parse_qs(url.query, keep_blank_values=True)
        try:
            page = _int_param(params, "page", 1)
            per_page = _int_param(params, "per_page", DEFAULT_PER_PAGE)
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        if page < 1:
            return _error(400, "bad_request", "page must be >= 1")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error(400, "bad_request", f"per_page must be between 1 and {MAX_PER_PAGE}")
        per_page = min(per_page, self._page_cap or per_page)
        since = None
        if params.get("updated_since") and params["updated_since"][0].strip():
            raw = params["updated_since"][0].strip()
            # an unencoded '+' of a zone offset arrives as a space
            since = parse_timestamp(raw) or parse_timestamp(raw.replace(" ", "+"))
            if since is None:
                return _error(400, "bad_request", "updated_since must be an ISO-8601 timestamp")

        records = self._in_order()
        # unparsable timestamps sort first, so they fall below any since
        first = 0 if since is None else bisect.bisect_left(self._keys, (since, ""))
        total = self._reported_total(len(records) - first, page)
        served = self._page_served(page)
        start = first + (served - 1) * per_page
        data = records[start:start + per_page]
        dropped = min(self.faults.drop_records.get(page, 0), len(data))
        if dropped:
            self.faults_injected["drop_records"] += 1
            data = data[:len(data) - dropped]
        payload = {
            "data": data,
            "meta": {"page": page, "per_page": per_page, "total": total, "total_pages": math.ceil(total / per_page)},
        }
        if fault == NO_META:
            self.faults_injected[fault] += 1
            del payload["meta"]
        body = _json(payload)
        if fault == TRUNCATED:
            self.faults_injected[fault] += 1
            body = body[: len(body) // 2]
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    def _reported_total(self, total: int, page: int) -> int:
        faults = self.faults
        delta = faults.total_delta + sum(d for p, d in faults.total_changes.items() if page >= p)
        if delta:
            self.faults_injected["wrong_total"] += 1
        return max(total + delta, 0)

    def _page_served(self, page: int) -> int:
        """Which page's records go out: a repeated page serves an earlier one's."""
        served = self.faults.repeat_pages.get(page, page)
        if served != page:
            self.faults_injected["repeat_page"] += 1
        return served

    def _authorised(self, authorization: str | None) -> bool:
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode("utf-8"), self._token)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._http is None:
            raise RuntimeError("the stand-in is not started")
        host, port = self._http.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> DapodikServer:
        if self._http is not None:
            return self
        self._http = _HTTPServer((self._host, self._port), self)
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="dapodik-standin", daemon=True)
        self._thread.start()
        log.info("dapodik stand-in serving %d record(s) at %s%s", len(self._records), self.base_url, PATH)
        return self

    def stop(self) -> None:
        if self._http is None:
            return
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = self._thread = None

    def __enter__(self) -> DapodikServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values or not values[0].strip():
        return default
    try:
        return int(values[0])
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, \
        _json({"error": code, "message": message})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection across pages
    timeout = 30  # an idle kept-alive connection is closed after this
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this each page waits ~40 ms
    server_version = "DapodikStandin/1.0"
    server: _HTTPServer

    def _respond(self) -> None:
        status, headers, body = self.server.standin.handle(self.command, self.path,
                                                           self.headers.get("Authorization"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _respond

    def log_message(self, format: str, *args) -> None:  # the base class names it `format`
        log.debug("dapodik stand-in %s: %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], standin: DapodikServer):
        self.standin = standin
        super().__init__(address, _Handler)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve_forever(data_path: Path, host: str, port: int, token: str, *, faults: Faults | None = None,
                  watch: bool = True) -> None:
    """Serve a JSONL file's records until interrupted (Ctrl-C). With watch, a rewritten file is re-read."""
    data_path = Path(data_path)
    if not data_path.exists():
        raise FileNotFoundError(f"no Dapodik records at {data_path} (run `lintas generate` first)")
    server = DapodikServer.from_jsonl(data_path, token=token, faults=faults, host=host, port=port, watch=watch)
    if threading.current_thread() is threading.main_thread():  # stop cleanly on SIGTERM too (docker, systemd)
        signal.signal(signal.SIGTERM, _interrupt)
    server.start()
    print(f"Dapodik stand-in: {len(server.records()):,} record(s) from {data_path}")
    print(f"  GET {server.base_url}{PATH}?updated_since=&page=1&per_page=1000 (Authorization: Bearer <token>)")
    print("  Ctrl-C to stop", flush=True)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(f"Dapodik stand-in stopped after {server.requests:,} request(s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lintas_sandbox.standins.dapodik",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="JSONL of student records")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", required=True, help="bearer token clients must send")
    parser.add_argument("--throttle-every", type=int, default=0, help="answer every Nth request with 429")
    parser.add_argument("--retry-after", type=float, default=1, help="Retry-After seconds of a 429")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500/502/503")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat-page", action="append", default=[], metavar="N:M",
                        help="serve page M's records again as page N (repeatable)")
    parser.add_argument("--total-delta", type=int, default=0, help="overstate meta.total by this many records")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    repeats = dict(tuple(int(n) for n in pair.split(":", 1)) for pair in args.repeat_page)
    faults = Faults(seed=args.seed, throttle_every=args.throttle_every, retry_after=args.retry_after,
                    error_rate=args.error_rate, repeat_pages=repeats, total_delta=args.total_delta)
    serve_forever(Path(args.data), args.host, args.port, args.token, faults=faults)


if __name__ == "__main__":
    main()
