-- A match method for records linked only by a deterministic rule that uses no NIK (name + birth date + mother's
-- name; a permit run from the holder's home): 'rule', with no probability. Before, such records were reported as
-- 'probabilistic' with an empty probability. The methods, strongest evidence first (lintas.identity.linkage):
--   nik               a shared valid NIK, or the near-NIK rule (a NIK one edit away with a witness)
--   nik+probabilistic both of the above and a model link at or above the match threshold
--   probabilistic     a model link only (match_probability is the best one)
--   rule              a rule without NIK only (match_probability is null)
--   single            linked to no other record
-- 004 declared the check inline, so PostgreSQL named it person_record_match_method_check.
alter table identity.person_record drop constraint if exists person_record_match_method_check;
alter table identity.person_record add constraint person_record_match_method_check
    check (match_method in ('nik', 'probabilistic', 'nik+probabilistic', 'rule', 'single'));
