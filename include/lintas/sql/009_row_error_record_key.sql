-- The record a quarantined row belongs to, when its key could be read (e.g. the IDDTKS of a DTKS row whose
-- fields split by the header but broke a row rule). Null when the row could not be split (wrong field count)
-- or the key itself is missing. The marts use it to tell "present but quarantined" from "absent".
alter table quarantine.row_error add column if not exists record_key text;
