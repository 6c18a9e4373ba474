"""The Splink model on Spark (LINTAS_LINKAGE_BACKEND=spark) links exactly as on DuckDB: same pairs, same
probabilities, same persons. Runs where pyspark (`lintas[spark]`) and Java are installed (`make spark`,
`make test-spark`); skipped, and said so, where they are not."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest

from lintas import settings
from lintas.identity import features, linkage, names, scoring, spark_backend
from lintas_sandbox.synth import population

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not spark_backend.available(), reason="needs pyspark (lintas[spark]) and Java: make spark"),
]

MOVED = "35.07.01.2001"  # a kelurahan code of Kabupaten Malang: a resident who moved out of the city


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def _records(n_persons: int = 1200, seed: int = 7) -> pd.DataFrame:
    """Records of the generator's residents as `features.prepare` makes them: each person once, many a second
    time with the noise the agencies' deliveries carry (a name typo, no NIK, a birth-date typo or a month off,
    no birth date or kelurahan, a contradicted NIK), some moved to another kab/kota."""
    rng = random.Random(seed)
    pop = population.generate("small", seed=1)
    rows = []
    for person in rng.sample(pop.persons, n_persons):
        home = pop.household_of(person)
        name = names.normalise(person.name)
        mother = names.normalise(person.mother_name)
        base = {"unique_id": f"dinsos_dtks:{person.person_id}", "source": "dinsos_dtks", "nik": person.nik,
                "nik_valid": True, "nik_contradicted": False, "nik_number_cell": False, "name": name.canonical,
                "first_name": name.tokens[0], "last_name": name.tokens[-1] if len(name.tokens) > 1 else None,
                "sex": person.sex, "dob": person.birth_date.isoformat(),
                "mother": mother.canonical if mother else None, "kelurahan": home.kelurahan.code,
                "street": home.street.lower(), "house_number": str(home.house_number), "no_kk": home.no_kk}
        rows.append(base)
        kind = rng.random()
        if kind < 0.35:
            continue
        other = {**base, "unique_id": f"diskopindag_umkm:{person.person_id}", "source": "diskopindag_umkm"}
        if kind < 0.45:
            other["name"] = _typo(other["name"], rng)
        elif kind < 0.55:
            other.update(nik=None, nik_valid=False)
        elif kind < 0.62:
            other["dob"] = _typo(other["dob"].replace("-", ""), rng)
            other["dob"] = f"{other['dob'][:4]}-{other['dob'][4:6]}-{other['dob'][6:]}"
        elif kind < 0.68:
            other["dob"] = (person.birth_date + timedelta(days=rng.choice([-20, 25, 200]))).isoformat()
        elif kind < 0.74:
            other.update(dob=None, sex=None, mother=None)
        elif kind < 0.79:
            other.update(kelurahan=None, street=None)
        elif kind < 0.83:
            other["nik_contradicted"] = True
        elif kind < 0.90:
            other["kelurahan"] = MOVED  # moved out: found again by NIK only
            if kind >= 0.87:
                other.update(nik=None, nik_valid=False)
        else:  # no NIK, a name typo, another street, a birth date a month off: weaker evidence, some for review
            other.update(nik=None, nik_valid=False, name=_typo(other["name"], rng), street="jalan lain",
                         dob=(person.birth_date + timedelta(days=rng.choice([-20, 25]))).isoformat(),
                         mother=None if rng.random() < 0.5 else other["mother"])
        rows.append(other)
    return pd.DataFrame(rows, columns=features.FEATURES, dtype=object)


def _resolve(prepared: pd.DataFrame, backend: str, monkeypatch) -> linkage.Resolution:
    monkeypatch.setenv("LINTAS_LINKAGE_BACKEND", backend)
    settings.reload()
    return linkage.resolve(prepared, scoring.MODEL_PATH)


def _persons(resolved: linkage.Resolution) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for key, cluster in resolved.cluster_of.items():
        members.setdefault(cluster, set()).add(key)
    return {frozenset(m) for m in members.values()}


def test_spark_and_duckdb_give_the_same_pairs_probabilities_and_persons(monkeypatch):
    prepared = _records()
    duck, spark = (_resolve(prepared, backend, monkeypatch) for backend in ("duckdb", "spark"))

    key = ["unique_id_l", "unique_id_r"]
    both = duck.pairs.merge(spark.pairs, on=key, how="outer", suffixes=("_duckdb", "_spark"), indicator=True)
    assert (both["_merge"] == "both").all(), both.loc[both["_merge"] != "both", "_merge"].value_counts().to_dict()
    # the same arithmetic on both engines (sums of match weights, then one conversion): equal to the last bits
    # here; a tolerance far below any threshold's distance only guards against a summation order changing
    assert (both["match_probability_duckdb"] - both["match_probability_spark"]).abs().max() <= 1e-12
    linked = (duck.pairs["match_probability"] >= scoring.MATCH_THRESHOLD).sum()
    assert linked > 200 and len(duck.pairs) > linked  # linked pairs and review pairs: the comparison is not empty
    assert _persons(duck) == _persons(spark)

    # a resident who moved to another kab/kota: the NIK finds them across regions, the name rules do not
    moved = prepared.loc[prepared["kelurahan"] == MOVED]
    pairs = set(zip(duck.pairs["unique_id_l"], duck.pairs["unique_id_r"], strict=True))
    with_nik = [k for k, nik in zip(moved["unique_id"], moved["nik"], strict=True) if nik]
    without_nik = [k for k, nik in zip(moved["unique_id"], moved["nik"], strict=True) if not nik]
    assert with_nik and without_nik
    home = {k: "dinsos_dtks:" + k.split(":", 1)[1] for k in moved["unique_id"]}
    assert all(tuple(sorted((k, home[k]))) in pairs for k in with_nik)
    assert not any(tuple(sorted((k, home[k]))) in pairs for k in without_nik)



def test_spark_configuration_sets_the_shuffle_partitions_and_local_mode_defaults_them(tmp_path):
    """Spark's own configuration wins (a cluster's 512 must not become local mode's 8); without it, local mode
    gets a few partitions per core. Each case in a fresh process: a JVM reads spark-defaults.conf once."""
    probe = ("from lintas.identity import spark_backend\n"
             "with spark_backend.spark_session() as s:\n"
             "    print(s.conf.get('spark.sql.shuffle.partitions'))\n")
    configured = tmp_path / "conf"
    configured.mkdir()
    (configured / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 32\n")
    unconfigured = tmp_path / "empty"
    unconfigured.mkdir()
    seen = {}
    for name, conf_dir in (("configured", configured), ("unconfigured", unconfigured)):
        done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "SPARK_CONF_DIR": str(conf_dir)},
                              capture_output=True, text=True, timeout=300, check=True)
        seen[name] = done.stdout.strip().splitlines()[-1]
    assert seen == {"configured": "32", "unconfigured": spark_backend.LOCAL_SHUFFLE_PARTITIONS}
