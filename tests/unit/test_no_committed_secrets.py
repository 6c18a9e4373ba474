"""No secret in the files git tracks: secrets come from the environment (.env, untracked) or Airflow connections."""

import subprocess

from lintas import settings
from lintas.privacy import secret_scan

ROOT = settings.project_root()


def test_no_tracked_file_holds_a_secret():
    files = secret_scan.tracked_files(ROOT)
    assert len(files) > 50 and ROOT / "docker-compose.yml" in files, "git ls-files saw the repository"
    findings = secret_scan.scan_repository(ROOT)
    assert findings == [], "secret-looking values in tracked files:\n" + "\n".join(map(str, findings))


def _git_repo(tmp_path, files: dict[str, str]):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "add", *files], cwd=tmp_path, check=True)
    return tmp_path


# Planted secrets, assembled at run time so this file itself stays clean for the scan above.
KEY_HEADER = "-----BEGIN " + "RSA PRIVATE KEY-----"
AWS_KEY = "AKIA" + "Q" * 16
GITHUB_TOKEN = "ghp_" + "a1B2" * 9
PLANTED = {
    "docker-compose.yml": "    POSTGRES_PASSWORD: ${WAREHOUSE_PASSWORD:" + "-lintas}\n",  # 1
    ".env.example": "AIRFLOW_JWT_SECRET=hunter2-long-value\nWAREHOUSE_PASSWORD=lintas\n",  # 2, 3
    "include/settings.py": 'URL = "postgresql://lintas:' + 'Sup3rS3cret@db:5432/lintas"\n',  # 4
    "keys/deploy_key.pem": KEY_HEADER + "\nMIIEow\n",  # 5
    "notes.md": f"aws key {AWS_KEY}\n",  # 6
    "ci/deploy.sh": f"export GITHUB_TOKEN={GITHUB_TOKEN}\n",  # 7 (token format) and 8 (a value for *TOKEN)
    "config.yaml": "password: s3cr3tvalue\n",  # 9
}


def test_planted_secrets_are_found(tmp_path):
    findings = secret_scan.scan_repository(_git_repo(tmp_path, PLANTED))
    found = {(f.path, f.rule) for f in findings}
    assert found == {
        ("docker-compose.yml", "known fallback value for WAREHOUSE_PASSWORD"),
        (".env.example", "value set for AIRFLOW_JWT_SECRET"),
        (".env.example", "value set for WAREHOUSE_PASSWORD"),
        ("include/settings.py", "password in a connection URL"),
        ("keys/deploy_key.pem", "private key"),
        ("notes.md", "AWS access key id"),
        ("ci/deploy.sh", "GitHub token"),
        ("ci/deploy.sh", "value set for GITHUB_TOKEN"),
        ("config.yaml", "value set for password"),
    }
    shown = "\n".join(map(str, findings))
    for value in ("lintas\n", "hunter2", "Sup3rS3cret", "MIIEow", AWS_KEY, GITHUB_TOKEN, "s3cr3tvalue"):
        assert value.strip() not in shown, "a finding names file, line and rule, never the value"


def test_placeholders_and_untracked_files_pass(tmp_path):
    repo = _git_repo(tmp_path, {
        "docker-compose.yml": "    WAREHOUSE_URL: postgresql://lintas:${WAREHOUSE_PASSWORD:?set it}@warehouse/lintas\n"
                              "    LINTAS_DAPODIK_TOKEN: ${LINTAS_DAPODIK_TOKEN:-}\n",
        ".env.example": "# WAREHOUSE_PASSWORD=lintas in a comment is documentation\nWAREHOUSE_PASSWORD=\n"
                        "LINTAS_DPMPTSP_URL=mysql+pymysql://lintas_ro:<password>@db.example:3306/oss\n",
        "profiles.yml": "      password: \"{{ env_var('LINTAS_PGPASSWORD', '') }}\"\n",
        "app.py": "token = token.strip()\nredacted = 'postgresql://u:***@h/d'\n",
        "test_urls.py": "URL = 'postgresql://u:made-up@h/d'  # secret-scan: fake\n",
    })
    (repo / ".env").write_text("WAREHOUSE_PASSWORD=the-real-one\n", encoding="utf-8")  # untracked: not scanned
    assert secret_scan.scan_repository(repo) == []
