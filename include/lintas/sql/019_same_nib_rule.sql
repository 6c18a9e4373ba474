-- identity.link_pair gains the rule same_nib (lintas.identity.rules.same_nib_pairs): a UMKM owner's row and a
-- permit naming the same OSS business id (NIB) with names one person could have.
alter table identity.link_pair drop constraint if exists link_pair_rule_check;
alter table identity.link_pair add constraint link_pair_rule_check
    check (rule in ('nik_group', 'near_nik', 'same_nik', 'name_birth_mother', 'similar_name_birth', 'same_nib',
                    'home_business', 'model', 'review'));
