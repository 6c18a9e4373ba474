"""The Splink model: its settings and blocking, training, the versioned model files, and scoring candidate pairs.

The reviewed model is versioned in the repo (`model/splink_model.json`); LINTAS_LINKAGE_MODEL selects another
one; `train()` / `training.retrain()` make new ones."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from psycopg import sql

from lintas import region, settings
from lintas.identity import rules
from lintas.identity.features import FEATURES
from lintas.identity.workspace import duckdb_connection

MODEL_PATH = Path(__file__).parent / "model" / "splink_model.json"
METADATA_KEY = "lintas_model"  # our own block in the model JSON; Splink does not read it
MATCH_THRESHOLD = 0.999  # pairs at or above are the same person (quality: bench/README.md)
REVIEW_THRESHOLD = 0.90  # pairs between this and MATCH_THRESHOLD go to analysts' review queue

MODEL_COLUMNS = ["unique_id", "source", "nik", "name", "first_name", "last_name", "sex", "dob", "mother",
                 "kelurahan", "street"]

# Candidate pairs for the model. Each rule keeps its blocks small at any scale: a birth date alone, or a given
# name with only the kelurahan or only the surname, grows with the square of the city (a city repeats its common
# names; at 5x city those two rules spilled > 70 GB, bench/README.md). What each rule is for:
#   NIK; birth date + kelurahan / + given name: the records that carry a birth date (DTKS, Dapodik, most UMKM);
#   given name + kelurahan + street: a record without birth date (a permit, some UMKM rows) at the same address;
#   given name + surname + kelurahan: one without birth date in the same kelurahan, another street spelling;
#   given name + surname + birth year: a birth-date typo, someone who moved house.
# The three name rules also skip a block of more than MAX_BLOCK_RECORDS records (a very common name: the model
# could not tell them apart without a birth date or NIK anyway): at most 99 candidates per record and rule, so
# beyond that block size the pairs grow linearly with the records. (City, seed 1: 29.7 M pairs before, 1.09 M
# now, largest name block 31 records; 5x: 26.2 M.) Part of the code, not of the trained model: changing them
# needs no retraining.
MAX_BLOCK_RECORDS = 100
# Training (`train`): random pairs for u (every pair of a small city; 0.3% of a city's), the largest NIK group
# taken as one person's records, and the smallest m or u any level may have.
TRAINING_U_PAIRS = 5e6
MAX_LABEL_GROUP = 10
MIN_PROBABILITY = 1e-6


def _columns(*keys: str | sql.Composable) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(k) if isinstance(k, str) else k for k in keys)


BLOCK_SIZES = {  # column of linkage_features: the size of the record's block under a name rule
    "n_first_street": _columns("first_name", "kelurahan", "street"),
    "n_first_last_place": _columns("first_name", "last_name", "kelurahan"),
    "n_first_last_year": _columns("kabkota", "first_name", "last_name",
                                  sql.SQL("substr({}, 1, 4)").format(sql.Identifier("dob"))),
}
# A province: every rule but the NIK's compares records of one kab/kota only (a kelurahan code is one kab/kota's;
# the others carry `kabkota`), so the pairs grow with each kab/kota, not with the square of the province. Someone
# who moved to another kab/kota is found by NIK alone (the first rule, across regions; and `rules`' NIK groups).
# A record with no resolved kelurahan counts as the region's only kab/kota, or in a province as its NIK's kab/kota
# (else none: NIK and kelurahan rules still reach it). For one kab/kota every record has the same `kabkota` and the
# pairs are those of the rules without it.
BLOCKING = [
    'l."nik" = r."nik"',
    'l."dob" = r."dob" and l."kelurahan" = r."kelurahan"',
    'l."dob" = r."dob" and l."kabkota" = r."kabkota" and l."first_name" = r."first_name"',
    'l."first_name" = r."first_name" and l."kelurahan" = r."kelurahan" and l."street" = r."street"'
    f' and l."n_first_street" <= {MAX_BLOCK_RECORDS}',
    'l."first_name" = r."first_name" and l."last_name" = r."last_name" and l."kelurahan" = r."kelurahan"'
    f' and l."n_first_last_place" <= {MAX_BLOCK_RECORDS}',
    'l."kabkota" = r."kabkota" and l."first_name" = r."first_name" and l."last_name" = r."last_name"'
    ' and substr(l."dob", 1, 4) = substr(r."dob", 1, 4)'
    f' and l."n_first_last_year" <= {MAX_BLOCK_RECORDS}',
]


def model_path() -> Path:
    """The model linkage uses: the configured one (LINTAS_LINKAGE_MODEL, e.g. a retrained model an engineer has
    reviewed), else the reviewed model versioned in the repository."""
    return settings.linkage_model_path() or MODEL_PATH


def model_metadata(path: Path = MODEL_PATH) -> dict:
    return json.loads(path.read_text(encoding="utf-8")).get(METADATA_KEY, {})


def model_version(path: Path = MODEL_PATH) -> str:
    """'v3-1a2b3c4d5e6f': the model's version and the hash of its file (a hand edit changes the hash)."""
    if not path.exists():
        return "untrained"
    version = model_metadata(path).get("version")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"v{version}-{digest}" if version else digest


def load_model(path: Path = MODEL_PATH) -> dict:
    """The Splink settings of a saved model, with our blocking rules for prediction."""
    model = json.loads(path.read_text(encoding="utf-8"))
    model.pop(METADATA_KEY, None)
    return {**model, **_prediction_settings()}


def check_splink_accepts(path: Path) -> None:
    """Raises what Splink raises when it refuses the settings of the model at `path`."""
    with duckdb_connection() as con:
        _linker(pd.DataFrame(columns=FEATURES), load_model(path), con)


def train(prepared: pd.DataFrame, path: Path = MODEL_PATH, *, version: int | None = None,
          start_from: Path | None = None) -> Path:
    """Estimate the model on these records and save it with its version (`version`, else one more than the
    model at `path`) and what it was trained on (counts only). How (Splink's recommended order):

    - the prior from the deterministic rule (same NIK and birth date, recall 0.8);
    - u of every level by random sampling (TRAINING_U_PAIRS pairs: every pair of a small city);
    - m of every comparison but the NIK from labels: the pairs of records with the same valid NIK are the same
      person (`nik_label_pairs`); their names, birth dates, mothers, places are what a match looks like;
    - m of the NIK by EM on the pairs of the same birth date (blocking leaves the NIK free), every other m and u
      held at the values above, so EM has one unknown left and cannot drift to households or namesakes;
    - a floor (MIN_PROBABILITY) under every m and u: a level the training pairs never show is rare, not
      impossible, and a probability of 1e-150 turns one typo into a veto.

    Before, m came from EM alone (blocked on birth date, then on given name + kelurahan): in a small city the
    second blocking is mostly families, EM took them as the "matches" and birth date levels collapsed
    (exact birth date m 0.034, some levels 1e-150 or refused by Splink 5 as 0.0).

    `start_from`: re-estimate a saved model rather than the code's untrained settings; a comparison no label pair
    can show (mother's name between DTKS and UMKM, where only DTKS has it) keeps that model's m values.
    Splink offers no per-level hold in its training API: `_fix_m` sets the flag its estimators read (Splink 5.0)."""
    from splink import block_on

    if version is None:
        version = model_metadata(path).get("version", 0) + 1 if path.exists() else 1
    model_settings = _untrained_settings() if start_from is None else load_model(start_from)
    labels = nik_label_pairs(prepared)
    with duckdb_connection() as con:
        linker = _linker(prepared, model_settings, con)
        linker.training.estimate_probability_two_random_records_match([block_on("nik", "dob")], recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=TRAINING_U_PAIRS, seed=1)
        nik_levels = _levels(linker, "nik")
        other_levels = [cl for cc in linker._settings_obj.comparisons if cc.output_column_name != "nik"
                        for cl in cc._comparison_levels_excluding_null]
        if len(labels):
            con.register("nik_label_pairs", labels)
            _fix_m(nik_levels, True)  # every label pair agrees on the NIK by construction: no evidence for it
            linker.training.estimate_m_from_pairwise_labels("nik_label_pairs")
            _fix_m(nik_levels, False)
            _smooth_label_m(linker, labels, prepared)
        _fix_m(other_levels, True)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
        _fix_m(other_levels, False)
        model = linker.misc.save_model_to_json(overwrite=True)
    model.pop("linker_uid", None)  # random per run: two trainings on the same data give the same file
    floored = apply_floor(model)
    model[METADATA_KEY] = {"version": version, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "records": len(prepared), "records_per_source": prepared["source"].value_counts()
                           .sort_index().to_dict(), "label_pairs": len(labels), "floored_levels": floored}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(model, indent=4) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def nik_label_pairs(prepared: pd.DataFrame) -> pd.DataFrame:
    """unique_id_l, unique_id_r: pairs of records with the same valid NIK (not a family card number, not
    contradicted by the record), the training labels of a match. A NIK on more than MAX_LABEL_GROUP records is
    left out (a NIK shared by a family is not one person's)."""
    keyed = prepared.loc[prepared["nik_valid"].fillna(False).astype(bool) & prepared["nik"].notna(),
                         ["unique_id", "nik"]]
    sizes = keyed.groupby("nik")["unique_id"].transform("size")
    keyed = keyed.loc[(sizes > 1) & (sizes <= MAX_LABEL_GROUP)]
    pairs = keyed.merge(keyed, on="nik", suffixes=("_l", "_r"))
    pairs = pairs.loc[pairs["unique_id_l"] < pairs["unique_id_r"], ["unique_id_l", "unique_id_r"]]
    return pairs.reset_index(drop=True)


def _smooth_label_m(linker, labels: pd.DataFrame, prepared: pd.DataFrame) -> None:
    """m from the labels with half a pseudo-pair per level (Jeffreys' prior): (count + 0.5) / (n + 0.5 * levels),
    n the label pairs with the column on both records. A level no label pair shows (a small city's labels have no
    birth-date typo) gets a small m instead of keeping the start model's value (the level values would no
    longer sum to 1) or none."""
    present = prepared.set_index("unique_id").notna()
    for cc in linker._settings_obj.comparisons:
        if cc.output_column_name == "nik" or cc.output_column_name not in present:
            continue
        column = present[cc.output_column_name]
        n = int((column.loc[labels["unique_id_l"]].to_numpy() & column.loc[labels["unique_id_r"]].to_numpy()).sum())
        if n == 0:
            continue  # no evidence at all: the start model's values stay
        levels = cc._comparison_levels_excluding_null
        for cl in levels:
            m = cl.m_probability
            count = m * n if isinstance(m, int | float) and _trained_by_labels(cl) else 0.0
            cl.m_probability = (count + 0.5) / (n + 0.5 * len(levels))


def _trained_by_labels(cl) -> bool:
    last = cl._trained_m_probabilities[-1] if cl._trained_m_probabilities else {}
    return "labels" in last.get("description", "") and isinstance(last.get("probability"), int | float)


def apply_floor(model: dict, floor: float | None = None) -> int:
    """Raise every m and u below `floor` (MIN_PROBABILITY) to it, taking the difference from the comparison's
    largest level so each still sums to 1. Returns how many values were raised."""
    floor = MIN_PROBABILITY if floor is None else floor
    raised = 0
    for comparison in model.get("comparisons", []):
        levels = [lv for lv in comparison.get("comparison_levels", []) if not lv.get("is_null_level")]
        for kind in ("m_probability", "u_probability"):
            values = [lv.get(kind) for lv in levels]
            if not all(isinstance(v, int | float) for v in values):
                continue
            low = [i for i, v in enumerate(values) if v < floor]
            if not low:
                continue
            largest = max(range(len(values)), key=values.__getitem__)
            for i in low:
                levels[largest][kind] -= floor - values[i]
                levels[i][kind] = floor
            raised += len(low)
    return raised


def _levels(linker, comparison: str) -> list:
    return [cl for cc in linker._settings_obj.comparisons if cc.output_column_name == comparison
            for cl in cc._comparison_levels_excluding_null]


def _fix_m(levels: list, fixed: bool) -> None:
    """Hold (or free) the m of these levels during the next estimation. Splink reads the flag per level
    (`fix_m_probability` in a level's settings); its training methods only offer all or none."""
    for cl in levels:
        cl._fix_m_probability = fixed


def predict_pairs(prepared: pd.DataFrame, path: Path = MODEL_PATH) -> pd.DataFrame:
    """Scored candidate pairs at or above REVIEW_THRESHOLD: unique_id_l, unique_id_r, match_probability.
    Splink runs on the configured engine (LINTAS_LINKAGE_BACKEND): the same model, blocking and thresholds."""
    if settings.linkage_backend() == "spark":
        from lintas.identity import spark_backend

        scored = spark_backend.scored_pairs(prepared, load_model(path))
    else:
        scored = _duckdb_scored_pairs(prepared, path)
    if scored.empty:
        return no_pairs()
    # Veto: two NIKs present that say two people, however alike the rest is (siblings share mother, address and
    # surname). Only pairs that would be linked need the check. A NIK whose date digits contradict its record's
    # birth date is no evidence either way: it vetoes nothing.
    contradicted = set(prepared.loc[prepared["nik_contradicted"].fillna(False).astype(bool), "unique_id"])
    scored = scored.loc[~rules.nik_veto(scored, contradicted)]
    return scored[["unique_id_l", "unique_id_r", "match_probability"]].reset_index(drop=True)


def _duckdb_scored_pairs(prepared: pd.DataFrame, path: Path) -> pd.DataFrame:
    with duckdb_connection() as con:
        linker = _linker(prepared, load_model(path), con)
        predicted = linker.inference.predict(threshold_match_probability=REVIEW_THRESHOLD, warning_mode="never")
        # only what the veto and clustering need leaves DuckDB, not every retained column of every pair
        return con.execute(sql.SQL(SCORED_COLUMNS).format(predicted=sql.Identifier(predicted.physical_name))
                           .as_string(), {"linked": MATCH_THRESHOLD}).df()


# what leaves the engine per scored pair ($linked: MATCH_THRESHOLD); the NIKs only where the veto reads them
SCORED_COLUMNS = ("select unique_id_l, unique_id_r, match_probability,"
                  " case when match_probability >= $linked then nik_l end as nik_l,"
                  " case when match_probability >= $linked then nik_r end as nik_r"
                  " from {predicted}")


def no_pairs() -> pd.DataFrame:
    """What `predict_pairs` returns when no pair scores at REVIEW_THRESHOLD or above."""
    return pd.DataFrame({"unique_id_l": pd.Series(dtype=object), "unique_id_r": pd.Series(dtype=object),
                         "match_probability": pd.Series(dtype=float)})


def create_linkage_features(con, prepared: pd.DataFrame) -> None:
    """DuckDB table linkage_features: the model's columns and the block sizes the blocking rules cap."""
    con.register("linkage_input", model_input(prepared))
    con.execute(f"create table linkage_features as {linkage_features_sql('linkage_input')}")
    con.unregister("linkage_input")


def model_input(prepared: pd.DataFrame) -> pd.DataFrame:
    """The prepared columns the model reads, and `kabkota`: the region the blocking rules stay within (the
    kelurahan code's kab/kota, else the warehouse's own region)."""
    served = region.kabkota_digits()
    only = served[0] if len(served) == 1 else None

    def kabkota_of(kelurahan, nik) -> str | None:
        if isinstance(kelurahan, str) and len(kelurahan) >= 5:
            return kelurahan[:5].replace(".", "")
        # no kelurahan: the one kab/kota served, else the NIK's own kab/kota when it is one of the region's
        if only is not None:
            return only
        return nik[:4] if isinstance(nik, str) and nik[:4] in served else None

    kabkota = [kabkota_of(k, n) for k, n in zip(prepared["kelurahan"], prepared["nik"], strict=True)]
    return prepared[[*MODEL_COLUMNS, "nik_contradicted"]].assign(kabkota=pd.Series(kabkota, index=prepared.index,
                                                                                   dtype=object))


def linkage_features_sql(source: str) -> str:
    """The linkage_features query over `source` (a `model_input`), in DuckDB's SQL (the Spark backend transpiles
    it): the model's columns and the block sizes the blocking rules cap."""
    sizes = sql.SQL(", ").join(
        sql.SQL("count(*) over (partition by {keys}) as {column}").format(keys=keys, column=sql.Identifier(column))
        for column, keys in BLOCK_SIZES.items())
    # a NIK contradicting its record is not this person's: the model sees it as missing, not as a disagreement
    columns = _columns(*(sql.SQL("case when nik_contradicted then null else nik end as nik") if c == "nik" else c
                         for c in [*MODEL_COLUMNS, "kabkota"]))
    return sql.SQL("select {columns}, {sizes} from {source}").format(
        columns=columns, sizes=sizes, source=sql.Identifier(source)).as_string()


def _untrained_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            # only an exact NIK is evidence here: people born on the same day in the same or a neighbouring
            # kecamatan have NIKs one digit apart (typos are caught by `rules.near_nik_pairs` with the name as
            # witness)
            cl.ExactMatch("nik"),
            cl.JaroWinklerAtThresholds("name", [0.97, 0.9, 0.8]),
            # exact, one typo, within a month, a year, ten years: siblings differ by years, typos by a digit
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("sex"),
            cl.JaroWinklerAtThresholds("mother", [0.95, 0.8]),
            cl.ExactMatch("kelurahan"),
            cl.JaroWinklerAtThresholds("street", [0.9]),
        ],
        **_prediction_settings(),
    )


def _prediction_settings() -> dict:
    """Ours, whatever a saved model says: the blocking rules and the columns the NIK veto reads (nik_l, nik_r)."""
    return {"blocking_rules_to_generate_predictions": [{"blocking_rule": r, "sql_dialect": "duckdb"}
                                                       for r in BLOCKING],
            "retain_intermediate_calculation_columns": False,
            "retain_matching_columns": True}


def _linker(prepared: pd.DataFrame, model_settings, con):
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    db = DuckDBAPI(connection=con)
    create_linkage_features(con, prepared)
    return Linker(db.register("linkage_features"), model_settings)
