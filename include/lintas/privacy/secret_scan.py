"""Find secret-looking values in the files git tracks: credentials in URLs, secret-named settings with a value,
known-password fallbacks in compose (`:-` defaults of secret variables), private keys, cloud and API token formats.

Secrets belong in the environment (.env, not tracked) or in Airflow connections, never in the repository. A finding
names file, line and rule, never the value. Placeholders (`<password>`, `${VAR}`, `{{ env_var(...) }}`, `***`)
pass, and so does a line marked `secret-scan: fake` (on it or on the line above): a made-up credential a test
needs, e.g. to prove that redaction hides it. Python sources are checked for the unambiguous patterns only: the
test doubles' tokens (bench-token) are synthetic stand-ins, and `token = token.strip()` is code, not a secret.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 2_000_000
FAKE_MARKER = "secret-scan: fake"

# words that mark an example value, not a secret
_PLACEHOLDER_WORDS = {"secret", "password", "pass", "xxx", "xxxx", "changeme", "change-me", "example", "***", "..."}
_SECRET_NAME = (r"[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|FERNET_?KEY|PSEUDONYM_?KEY)"
                r"[A-Za-z0-9_]*")

_URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:([^\s@/'\"]+)@")
_COMPOSE_FALLBACK = re.compile(r"\$\{(" + _SECRET_NAME + r"):?-([^}]+)\}", re.I)
_CONFIG_ASSIGNMENT = re.compile(r"^\s*(?:export\s+|-\s+)?(" + _SECRET_NAME + r")\s*[:=]\s*(.*?)\s*$", re.I)
_ANYWHERE = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}", re.I),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
_CONFIG_SUFFIXES = {".env", ".example", ".yml", ".yaml", ".toml", ".ini", ".cfg", ".conf", ".properties", ".json",
                    ".sh", ".md", ".txt"}
_CONFIG_NAMES = {"Dockerfile", "Makefile", ".env"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:  # never the value
        return f"{self.path}:{self.line}: {self.rule}"


def is_placeholder(value: str) -> bool:
    value = value.strip().strip("'\"")
    return (
        value == ""
        or value.lower() in _PLACEHOLDER_WORDS
        or (value.startswith("<") and value.endswith(">"))
        or value.startswith(("${", "$", "{{", "{", "%(", "***"))  # variable, template, f-string, redacted
        or bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*\(.*\)", value))  # a call: os.environ.get(...)
    )


def _is_config(path: Path) -> bool:
    return path.name in _CONFIG_NAMES or path.name.startswith(".env") or path.suffix in _CONFIG_SUFFIXES


def scan_text(path: str, text: str, config: bool) -> list[Finding]:
    findings: list[Finding] = []
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        marked = FAKE_MARKER in line or FAKE_MARKER in previous
        previous = line
        if marked:
            continue
        for match in _URL_CREDENTIALS.finditer(line):
            if not is_placeholder(match.group(1)):
                findings.append(Finding(path, number, "password in a connection URL"))
        for match in _COMPOSE_FALLBACK.finditer(line):
            if match.group(2).strip():
                findings.append(Finding(path, number, f"known fallback value for {match.group(1)}"))
        for rule, pattern in _ANYWHERE.items():
            if pattern.search(line):
                findings.append(Finding(path, number, rule))
        if config and not line.lstrip().startswith("#"):
            match = _CONFIG_ASSIGNMENT.match(line)
            if match and not is_placeholder(match.group(2)):
                findings.append(Finding(path, number, f"value set for {match.group(1)}"))
    return findings


def tracked_files(root: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [root / name for name in out.decode().split("\0") if name]


def scan_repository(root: Path) -> list[Finding]:
    findings: list[Finding] = []
    for path in tracked_files(root):
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (workbooks, images)
        findings += scan_text(str(path.relative_to(root)), text, config=_is_config(path))
    return findings
