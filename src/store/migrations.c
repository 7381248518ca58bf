/* migrations.c - the table of numbered schema migrations. Append only: a released migration is
 * never edited or renumbered; a change to the schema is a new entry at the end. */
#include "store/migrations.h"

#include "store/store.h"

static const struct store__migration migrations[] = {
    {
        .version = 1,
        .name = "notices",
        .sql = "CREATE TABLE notice (id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, "
               "category TEXT NOT NULL, district TEXT, doc TEXT NOT NULL);"
               "CREATE INDEX notice_by_created ON notice (created_ms DESC, id DESC);",
    },
    {
        /* the regional ID: people, organisations, practitioner roles, family links, OAuth
         * clients (docs/internals/identity.md). Coordinates are integer micro-degrees. */
        .version = 2,
        .name = "identity",
        .sql = "CREATE TABLE person (id TEXT PRIMARY KEY, family_name_kanji TEXT NOT NULL, "
               "given_name_kanji TEXT NOT NULL, family_name_kana TEXT NOT NULL, "
               "given_name_kana TEXT NOT NULL, "
               "birth_date TEXT NOT NULL CHECK (length(birth_date) = 10), "
               "sex TEXT NOT NULL CHECK (sex IN ('male', 'female', 'other', 'unknown')), "
               "district TEXT NOT NULL, "
               "lat_e6 BIGINT CHECK (lat_e6 BETWEEN -90000000 AND 90000000), "
               "lon_e6 BIGINT CHECK (lon_e6 BETWEEN -180000000 AND 180000000), "
               "phone TEXT, email TEXT CHECK (email = lower(email)), "
               "assurance TEXT NOT NULL CHECK (assurance IN ('self', 'in_person', 'card')), "
               "password_hash TEXT, totp_secret TEXT, "
               "failed_logins INTEGER NOT NULL DEFAULT 0, "
               "locked_until_ms BIGINT NOT NULL DEFAULT 0, "
               "created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, "
               "CHECK ((lat_e6 IS NULL) = (lon_e6 IS NULL)));"
               "CREATE UNIQUE INDEX person_by_email ON person (email);"
               "CREATE TABLE organisation (id TEXT PRIMARY KEY, "
               "kind TEXT NOT NULL CHECK (kind IN ('clinic', 'hospital', 'pharmacy', "
               "'care_home', 'school', 'taxi_company', 'city_office', 'research_body')), "
               "name_ja TEXT NOT NULL, name_en TEXT, district TEXT NOT NULL, address TEXT, "
               "lat_e6 BIGINT CHECK (lat_e6 BETWEEN -90000000 AND 90000000), "
               "lon_e6 BIGINT CHECK (lon_e6 BETWEEN -180000000 AND 180000000), "
               "created_ms BIGINT NOT NULL, "
               "CHECK ((lat_e6 IS NULL) = (lon_e6 IS NULL)));"
               "CREATE TABLE practitioner_role (id TEXT PRIMARY KEY, "
               "person_id TEXT NOT NULL REFERENCES person (id), "
               "org_id TEXT NOT NULL REFERENCES organisation (id), "
               "role TEXT NOT NULL CHECK (role IN ('doctor', 'nurse', 'pharmacist', "
               "'care_worker', 'dispatcher', 'clerk', 'city_administrator', 'auditor')), "
               "active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)), "
               "created_ms BIGINT NOT NULL, UNIQUE (person_id, org_id, role));"
               "CREATE INDEX practitioner_role_by_org ON practitioner_role (org_id);"
               "CREATE TABLE family_link (id TEXT PRIMARY KEY, "
               "subject_id TEXT NOT NULL REFERENCES person (id), "
               "delegate_id TEXT NOT NULL REFERENCES person (id), rights TEXT NOT NULL, "
               "kind TEXT NOT NULL CHECK (kind IN ('family', 'guardian')), "
               "valid_from_ms BIGINT NOT NULL, valid_until_ms BIGINT, "
               "created_ms BIGINT NOT NULL, CHECK (subject_id <> delegate_id), "
               "CHECK (valid_until_ms IS NULL OR valid_until_ms > valid_from_ms));"
               "CREATE INDEX family_link_by_delegate ON family_link (delegate_id, created_ms);"
               "CREATE INDEX family_link_by_subject ON family_link (subject_id);"
               "CREATE TABLE oauth_client (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
               "kind TEXT NOT NULL CHECK (kind IN ('public', 'confidential')), "
               "secret_hash TEXT, redirect_uris TEXT NOT NULL, allowed_scopes TEXT NOT NULL, "
               "grant_types TEXT NOT NULL, org_id TEXT REFERENCES organisation (id), "
               "created_ms BIGINT NOT NULL, "
               "CHECK ((kind = 'confidential') = (secret_hash IS NOT NULL)));"
               "CREATE INDEX oauth_client_by_org ON oauth_client (org_id);",
    },
    {
        .version = 3,
        .name = "tokens",
        .sql = "CREATE TABLE access_token (hash TEXT PRIMARY KEY CHECK (length(hash) = 64), "
               "client_id TEXT NOT NULL REFERENCES oauth_client (id), "
               "subject_id TEXT REFERENCES person (id), scope TEXT NOT NULL, "
               "audience TEXT NOT NULL, grant_id TEXT, issued_ms BIGINT NOT NULL, "
               "expires_ms BIGINT NOT NULL, revoked_ms BIGINT, "
               "CHECK (expires_ms > issued_ms));"
               "CREATE INDEX access_token_by_expiry ON access_token (expires_ms);",
    },
    {
        /* sign-in and the authorization-code flow (docs/internals/oauth.md): browser sessions,
         * grants (one per approval; a person acting for themselves, for someone they may act
         * for, or for an organisation in a role), single-use codes and rotating refresh
         * tokens. Access tokens join their grant, so revoking a grant ends its tokens. */
        .version = 4,
        .name = "signin",
        .sql = "CREATE TABLE web_session (hash TEXT PRIMARY KEY CHECK (length(hash) = 64), "
               "person_id TEXT NOT NULL REFERENCES person (id), csrf TEXT NOT NULL, "
               "amr TEXT NOT NULL, auth_time_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, "
               "expires_ms BIGINT NOT NULL, ended_ms BIGINT, CHECK (expires_ms > created_ms));"
               "CREATE INDEX web_session_by_person ON web_session (person_id);"
               "CREATE INDEX web_session_by_expiry ON web_session (expires_ms);"
               "ALTER TABLE person ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;"
               "CREATE TABLE oauth_grant (id TEXT PRIMARY KEY, "
               "client_id TEXT NOT NULL REFERENCES oauth_client (id), "
               "person_id TEXT NOT NULL REFERENCES person (id), "
               "acting_for TEXT REFERENCES person (id), "
               "org_id TEXT REFERENCES organisation (id), role TEXT, scope TEXT NOT NULL, "
               "audience TEXT NOT NULL, nonce TEXT, amr TEXT NOT NULL, "
               "auth_time_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT, "
               "revoked_reason TEXT, CHECK ((org_id IS NULL) = (role IS NULL)), "
               "CHECK (acting_for IS NULL OR org_id IS NULL));"
               "CREATE INDEX oauth_grant_by_person ON oauth_grant (person_id, created_ms);"
               "CREATE TABLE auth_code (hash TEXT PRIMARY KEY CHECK (length(hash) = 64), "
               "grant_id TEXT NOT NULL REFERENCES oauth_grant (id), "
               "redirect_uri TEXT NOT NULL, code_challenge TEXT NOT NULL, "
               "issued_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, used_ms BIGINT);"
               "CREATE INDEX auth_code_by_expiry ON auth_code (expires_ms);"
               "CREATE TABLE refresh_token (hash TEXT PRIMARY KEY CHECK (length(hash) = 64), "
               "grant_id TEXT NOT NULL REFERENCES oauth_grant (id), issued_ms BIGINT NOT NULL, "
               "expires_ms BIGINT NOT NULL, used_ms BIGINT, CHECK (expires_ms > issued_ms));"
               "CREATE INDEX refresh_token_by_grant ON refresh_token (grant_id);"
               "CREATE INDEX access_token_by_grant ON access_token (grant_id);",
    },
    {
        /* the data tracker (docs/internals/audit.md): one hash chain per subject; the head
         * table (derived, checked by `cityos audit verify`); signed checkpoints over every head
         * and the heads each one moved. No foreign keys: the trail outlives any record. */
        .version = 5,
        .name = "audit",
        .sql = "CREATE TABLE audit_entry (subject TEXT NOT NULL, "
               "seq BIGINT NOT NULL CHECK (seq >= 1), time_ms BIGINT NOT NULL, "
               "actor_kind TEXT NOT NULL CHECK (actor_kind IN ('person', 'delegate', "
               "'practitioner', 'client', 'device', 'operator')), "
               "actor_id TEXT NOT NULL, actor_org TEXT, actor_role TEXT, client_id TEXT, "
               "on_behalf_of TEXT, action TEXT NOT NULL, resource_type TEXT, resource_id TEXT, "
               "category TEXT, purpose TEXT, "
               "decision TEXT NOT NULL CHECK (decision IN ('permit', 'deny')), "
               "decided_by TEXT, reason TEXT, request_id TEXT, source_addr TEXT, "
               "prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64), "
               "entry_hash TEXT NOT NULL CHECK (length(entry_hash) = 64), "
               "PRIMARY KEY (subject, seq));"
               "CREATE INDEX audit_entry_by_time ON audit_entry (subject, time_ms);"
               "CREATE TABLE audit_head (subject TEXT PRIMARY KEY, "
               "seq BIGINT NOT NULL CHECK (seq >= 1), "
               "head TEXT NOT NULL CHECK (length(head) = 64));"
               "CREATE TABLE audit_checkpoint (id BIGINT PRIMARY KEY CHECK (id >= 1), "
               "created_ms BIGINT NOT NULL, root TEXT NOT NULL CHECK (length(root) = 64), "
               "chains BIGINT NOT NULL, entries BIGINT NOT NULL, key_id TEXT NOT NULL, "
               "signature TEXT NOT NULL CHECK (length(signature) = 128));"
               "CREATE TABLE audit_checkpoint_head (checkpoint_id BIGINT NOT NULL "
               "REFERENCES audit_checkpoint (id), subject TEXT NOT NULL, "
               "seq BIGINT NOT NULL CHECK (seq >= 1), PRIMARY KEY (checkpoint_id, subject));"
               "CREATE INDEX audit_checkpoint_head_by_subject ON audit_checkpoint_head "
               "(subject, seq);",
    },
    {
        /* opt-in consent (docs/internals/consent.md): versioned purposes; consents with the
         * evidence of their grant and withdrawal; the append-only history of every change;
         * the change sequence other processes poll; the citizen's inbox. Every personal row
         * carries subject_id. */
        .version = 6,
        .name = "consent",
        .sql = "CREATE TABLE consent_purpose_version (code TEXT NOT NULL, "
               "version BIGINT NOT NULL CHECK (version >= 1), title_ja TEXT NOT NULL, "
               "title_en TEXT NOT NULL, explanation_ja TEXT NOT NULL, "
               "explanation_en TEXT NOT NULL, "
               "explanation_hash TEXT NOT NULL CHECK (length(explanation_hash) = 64), "
               "categories TEXT NOT NULL, recipients TEXT NOT NULL, "
               "legal_basis TEXT NOT NULL CHECK (legal_basis IN ('consent', 'law', "
               "'vital_interest', 'public_health', 'academic_research')), "
               "retention_days BIGINT NOT NULL CHECK (retention_days BETWEEN 1 AND 36500), "
               "scope_change TEXT NOT NULL CHECK (scope_change IN ('first', 'same', 'widening', "
               "'narrowing', 'mixed')), "
               "published_ms BIGINT NOT NULL, published_by TEXT NOT NULL, "
               "PRIMARY KEY (code, version));"
               "CREATE TABLE consent (id TEXT PRIMARY KEY, "
               "subject_id TEXT NOT NULL REFERENCES person (id), "
               "granted_by TEXT NOT NULL REFERENCES person (id), "
               "recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('organisation', "
               "'client', 'person', 'purpose')), recipient_id TEXT, "
               "purpose_code TEXT NOT NULL, purpose_version BIGINT NOT NULL, "
               "categories TEXT NOT NULL, "
               "actions TEXT NOT NULL CHECK (actions IN ('read', 'write', 'read,write')), "
               "valid_from_ms BIGINT NOT NULL, valid_until_ms BIGINT, "
               "status TEXT NOT NULL CHECK (status IN ('active', 'withdrawn')), "
               "explanation_hash TEXT NOT NULL CHECK (length(explanation_hash) = 64), "
               "shown_ms BIGINT NOT NULL, agreed_ms BIGINT NOT NULL, "
               "channel TEXT NOT NULL CHECK (channel IN ('portal', 'app', 'in_person_proxy')), "
               "withdrawn_ms BIGINT, withdrawn_by TEXT REFERENCES person (id), "
               "withdrawal_hash TEXT CHECK (withdrawal_hash IS NULL OR "
               "length(withdrawal_hash) = 64), "
               "withdrawal_shown_ms BIGINT, withdrawal_agreed_ms BIGINT, "
               "withdrawal_channel TEXT CHECK (withdrawal_channel IS NULL OR withdrawal_channel "
               "IN ('portal', 'app', 'in_person_proxy')), "
               "created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, "
               "FOREIGN KEY (purpose_code, purpose_version) REFERENCES consent_purpose_version "
               "(code, version), "
               "CHECK ((recipient_kind = 'purpose') = (recipient_id IS NULL)), "
               "CHECK (valid_until_ms IS NULL OR valid_until_ms > valid_from_ms), "
               "CHECK (shown_ms <= agreed_ms), "
               "CHECK ((status = 'withdrawn') = (withdrawn_ms IS NOT NULL)), "
               "CHECK ((withdrawn_ms IS NULL) = (withdrawal_agreed_ms IS NULL)));"
               "CREATE INDEX consent_by_subject ON consent (subject_id, created_ms);"
               "CREATE INDEX consent_by_purpose ON consent (purpose_code, purpose_version, "
               "status);"
               "CREATE TABLE consent_event (consent_id TEXT NOT NULL REFERENCES consent (id), "
               "seq BIGINT NOT NULL CHECK (seq >= 1), subject_id TEXT NOT NULL, "
               "kind TEXT NOT NULL CHECK (kind IN ('grant', 'narrow', 'withdraw', "
               "'reconsent')), at_ms BIGINT NOT NULL, by_id TEXT NOT NULL, "
               "purpose_version BIGINT NOT NULL, categories TEXT NOT NULL, "
               "actions TEXT NOT NULL, valid_from_ms BIGINT NOT NULL, valid_until_ms BIGINT, "
               "explanation_hash TEXT NOT NULL CHECK (length(explanation_hash) = 64), "
               "shown_ms BIGINT NOT NULL, agreed_ms BIGINT NOT NULL, channel TEXT NOT NULL, "
               "PRIMARY KEY (consent_id, seq));"
               "CREATE INDEX consent_event_by_subject ON consent_event (subject_id, at_ms);"
               "CREATE TABLE consent_change (seq BIGINT PRIMARY KEY CHECK (seq >= 1), "
               "subject_id TEXT, purpose_code TEXT, at_ms BIGINT NOT NULL, "
               "CHECK ((subject_id IS NULL) <> (purpose_code IS NULL)));"
               "CREATE TABLE inbox_item (id TEXT PRIMARY KEY, "
               "subject_id TEXT NOT NULL REFERENCES person (id), "
               "kind TEXT NOT NULL CHECK (kind IN ('reconsent', 'break_glass_notice')), "
               "consent_id TEXT REFERENCES consent (id), purpose_code TEXT, "
               "from_version BIGINT, to_version BIGINT, created_ms BIGINT NOT NULL, "
               "resolved_ms BIGINT, detail TEXT NOT NULL, "
               "CHECK ((kind = 'reconsent') = (consent_id IS NOT NULL)));"
               "CREATE INDEX inbox_item_by_subject ON inbox_item (subject_id, created_ms);"
               "CREATE INDEX inbox_item_by_consent ON inbox_item (consent_id);",
    },
    {
        /* consent receipts: the signed JWS (docs/internals/consent-receipts.md) of a consent
         * change, written in the transaction of the change itself */
        .version = 7,
        .name = "receipts",
        .sql = "CREATE TABLE consent_receipt (id TEXT PRIMARY KEY CHECK (length(id) = 36), "
               "consent_id TEXT NOT NULL REFERENCES consent (id), "
               "subject_id TEXT NOT NULL REFERENCES person (id), "
               "action TEXT NOT NULL CHECK (action IN ('grant', 'withdraw', 'narrow', "
               "'reconsent')), "
               "jws TEXT NOT NULL, created_ms BIGINT NOT NULL);"
               "CREATE INDEX consent_receipt_by_consent ON consent_receipt (consent_id, "
               "created_ms);",
    },
    {
        /* FHIR R4 resources (docs/internals/fhir.md): the current version of each resource with
         * the citizen it belongs to (subject: the Patient's person id, NULL for data about no
         * one) and its consent category; every version in fhir_version (body NULL for a
         * delete); the search index rows of current versions (docs/internals/fhir-search.md).
         * Each index table has a "by value" index ending in id (a search's first equality
         * walks it in id order) and a "by resource" index (rtype, id, param, value) that the
         * other clauses probe. */
        .version = 8,
        .name = "fhir",
        .sql =
            "CREATE TABLE fhir_resource (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "version INTEGER NOT NULL CHECK (version >= 1), updated_ms BIGINT NOT NULL, "
            "subject TEXT, category TEXT, deleted INTEGER NOT NULL DEFAULT 0 "
            "CHECK (deleted IN (0, 1)), body TEXT NOT NULL, PRIMARY KEY (rtype, id));"
            "CREATE INDEX fhir_resource_by_subject ON fhir_resource (subject, rtype, "
            "updated_ms);"
            "CREATE INDEX fhir_resource_by_updated ON fhir_resource (rtype, updated_ms);"
            "CREATE TABLE fhir_version (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "version INTEGER NOT NULL, updated_ms BIGINT NOT NULL, "
            "method TEXT NOT NULL CHECK (method IN ('create', 'update', 'delete')), "
            "subject TEXT, category TEXT, body TEXT, "
            "CHECK ((method = 'delete') = (body IS NULL)), "
            "PRIMARY KEY (rtype, id, version));"
            "CREATE INDEX fhir_version_by_type ON fhir_version (rtype, updated_ms);"
            "CREATE INDEX fhir_version_by_time ON fhir_version (updated_ms);"
            "CREATE TABLE fhir_ix_token (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, system TEXT, code TEXT, display TEXT);"
            "CREATE INDEX fhir_ix_token_by_code ON fhir_ix_token (rtype, param, code, system, id);"
            "CREATE INDEX fhir_ix_token_by_res ON fhir_ix_token (rtype, id, param, system, code);"
            "CREATE TABLE fhir_ix_date (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, lo_ms BIGINT NOT NULL, hi_ms BIGINT NOT NULL);"
            "CREATE INDEX fhir_ix_date_by_lo ON fhir_ix_date (rtype, param, lo_ms);"
            "CREATE INDEX fhir_ix_date_by_res ON fhir_ix_date (rtype, id, param, lo_ms, hi_ms);"
            "CREATE TABLE fhir_ix_ref (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, target_type TEXT, target_id TEXT, url TEXT);"
            "CREATE INDEX fhir_ix_ref_by_target ON fhir_ix_ref (rtype, param, target_id, "
            "target_type, id);"
            "CREATE INDEX fhir_ix_ref_by_res ON fhir_ix_ref (rtype, id, param, target_type, "
            "target_id);"
            "CREATE INDEX fhir_ix_ref_reverse ON fhir_ix_ref (target_type, target_id);"
            "CREATE TABLE fhir_ix_string (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL);"
            "CREATE INDEX fhir_ix_string_by_norm ON fhir_ix_string (rtype, param, norm);"
            "CREATE INDEX fhir_ix_string_by_res ON fhir_ix_string (rtype, id, param, norm);"
            "CREATE TABLE fhir_ix_number (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, value DOUBLE PRECISION NOT NULL);"
            "CREATE INDEX fhir_ix_number_by_value ON fhir_ix_number (rtype, param, value);"
            "CREATE INDEX fhir_ix_number_by_res ON fhir_ix_number (rtype, id, param, value);"
            "CREATE TABLE fhir_ix_quantity (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, system TEXT, code TEXT, "
            "unit TEXT);"
            "CREATE INDEX fhir_ix_quantity_by_value ON fhir_ix_quantity (rtype, param, "
            "value);"
            "CREATE INDEX fhir_ix_quantity_by_res ON fhir_ix_quantity (rtype, id, param, value);"
            "CREATE TABLE fhir_ix_uri (rtype TEXT NOT NULL, id TEXT NOT NULL, "
            "param TEXT NOT NULL, value TEXT NOT NULL);"
            "CREATE INDEX fhir_ix_uri_by_value ON fhir_ix_uri (rtype, param, value, id);"
            "CREATE INDEX fhir_ix_uri_by_res ON fhir_ix_uri (rtype, id, param, value);",
    },
    {
        /* the life-stage import's ledger (docs/import.md): one row per record committed, in
         * the record's own transaction, so a rerun skips exactly what was imported */
        .version = 9,
        .name = "fhir_import",
        .sql = "CREATE TABLE fhir_import (source TEXT NOT NULL, record_hash TEXT NOT NULL "
               "CHECK (length(record_hash) = 64), created_ms BIGINT NOT NULL, "
               "resources TEXT NOT NULL, PRIMARY KEY (source, record_hash));",
    },
    {
        /* home devices (docs/internals/devices.md): one row per device a citizen registered.
         * Its MQTT username is its id; its password lives only as the broker's hash. subject_id
         * is the citizen it is bound to (NULL: not bound); registered_by the person who
         * registered it (the citizen or a delegate); revoked_ms set once, never cleared. */
        .version = 10,
        .name = "devices",
        .sql = "CREATE TABLE device (id TEXT PRIMARY KEY, "
               "subject_id TEXT REFERENCES person (id), "
               "kind TEXT NOT NULL CHECK (kind IN ('bp-wrist', 'bp-upper-arm', 'pillbox', "
               "'scale', 'thermometer', 'pulse-oximeter', 'glucose-meter')), "
               "display TEXT NOT NULL, manufacturer TEXT, model TEXT, "
               "fhir_device_id TEXT NOT NULL, registered_by TEXT NOT NULL REFERENCES person (id), "
               "registered_ms BIGINT NOT NULL, bound_ms BIGINT, revoked_ms BIGINT, "
               "CHECK ((subject_id IS NULL) = (bound_ms IS NULL)), "
               "CHECK (revoked_ms IS NULL OR revoked_ms >= registered_ms));"
               "CREATE INDEX device_by_subject ON device (subject_id, registered_ms, id);",
    },
    {
        /* issue 6: the transactional outbox and its delivery state per consumer, and the
         * duplicate key of device readings (docs/internals/ingest.md): a reading, its resource,
         * its audit entry and its event commit in one transaction */
        .version = 11,
        .name = "events",
        .sql = "CREATE TABLE event_outbox (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, "
               "subject_id TEXT, ref TEXT, payload TEXT NOT NULL, created_ms BIGINT NOT NULL);"
               "CREATE INDEX event_outbox_by_kind ON event_outbox (kind, seq);"
               "CREATE TABLE event_consumer (consumer TEXT NOT NULL, kind TEXT NOT NULL, "
               "done_seq BIGINT NOT NULL, PRIMARY KEY (consumer, kind));"
               "CREATE TABLE event_delivery (consumer TEXT NOT NULL, kind TEXT NOT NULL, "
               "seq BIGINT NOT NULL, attempts INTEGER NOT NULL, delivered_ms BIGINT, "
               "next_ms BIGINT NOT NULL, last_error TEXT, PRIMARY KEY (consumer, kind, seq));"
               "CREATE TABLE ingest_reading (device_id TEXT NOT NULL, time_ms BIGINT NOT NULL, "
               "rtype TEXT NOT NULL, resource_id TEXT NOT NULL, stored_ms BIGINT NOT NULL, "
               "PRIMARY KEY (device_id, time_ms));",
    },
    {
        /* FHIR search by a citizen's code ("my blood pressures"): token rows carry the
         * resource's subject, and the by-code index ends in (subject, id), so such a search
         * reads its page from one index range in id order instead of collecting every match
         * (docs/internals/fhir-search.md). Rows of existing resources get their subject here. */
        .version = 12,
        .name = "fhir_token_subject",
        .sql = "ALTER TABLE fhir_ix_token ADD COLUMN subject TEXT;"
               "UPDATE fhir_ix_token SET subject = (SELECT r.subject FROM fhir_resource r "
               "WHERE r.rtype = fhir_ix_token.rtype AND r.id = fhir_ix_token.id);"
               "DROP INDEX fhir_ix_token_by_code;"
               "CREATE INDEX fhir_ix_token_by_code ON fhir_ix_token "
               "(rtype, param, code, system, subject, id);",
    },
    {
        /* the city services' notices in the citizen's inbox (issue 7: bookings, reminders,
         * payments, prescriptions, taxis; docs/internals/consent.md "Inbox"): a third kind,
         * "notice", with the service that sent it, what it is about, its text in Japanese
         * (text_ja) and English (detail), and an optional key that makes a repeated notice (an
         * event handler run twice) a no-op. SQLite cannot change a CHECK constraint in place,
         * so the table is rebuilt. */
        .version = 13,
        .name = "inbox_notices",
        .sql = "CREATE TABLE inbox_item_v13 (id TEXT PRIMARY KEY, "
               "subject_id TEXT NOT NULL REFERENCES person (id), "
               "kind TEXT NOT NULL CHECK (kind IN ('reconsent', 'break_glass_notice', 'notice')), "
               "consent_id TEXT REFERENCES consent (id), purpose_code TEXT, "
               "from_version BIGINT, to_version BIGINT, created_ms BIGINT NOT NULL, "
               "resolved_ms BIGINT, detail TEXT NOT NULL, "
               "source TEXT, ref TEXT, text_ja TEXT, dedupe_key TEXT UNIQUE, "
               "CHECK ((kind = 'reconsent') = (consent_id IS NOT NULL)), "
               "CHECK ((kind = 'notice') = (source IS NOT NULL AND text_ja IS NOT NULL)));"
               "INSERT INTO inbox_item_v13 (id, subject_id, kind, consent_id, purpose_code, "
               "from_version, to_version, created_ms, resolved_ms, detail) "
               "SELECT id, subject_id, kind, consent_id, purpose_code, from_version, to_version, "
               "created_ms, resolved_ms, detail FROM inbox_item;"
               "DROP TABLE inbox_item;"
               "ALTER TABLE inbox_item_v13 RENAME TO inbox_item;"
               "CREATE INDEX inbox_item_by_subject ON inbox_item (subject_id, created_ms);"
               "CREATE INDEX inbox_item_by_consent ON inbox_item (consent_id);",
    },
    {
        /* issue 7 part 5: the wallet (docs/internals/wallet.md). Accounts ("person:<id>",
         * "org:<id>", "city", and the ledger's own "mint" and "expired"); immutable transfers
         * and their double entries (each account's entries numbered 1, 2, ... with the running
         * balance); lots (what an account holds of each issuance, with its expiry) and every
         * lot move; idempotency keys per caller; refund totals; mandates and their monthly use;
         * the invoices the wallet was asked to pay. Balances are changed only by conditional
         * UPDATEs (balance - ? WHERE balance >= ?) so the checks hold on PostgreSQL too. */
        .version = 14,
        .name = "wallet",
        .sql = "CREATE TABLE wallet_account (id TEXT PRIMARY KEY, "
               "kind TEXT NOT NULL CHECK (kind IN ('person', 'org', 'city', 'mint', 'expired')), "
               "owner TEXT, balance BIGINT NOT NULL, last_seq BIGINT NOT NULL, "
               "created_ms BIGINT NOT NULL, CHECK (kind = 'mint' OR balance >= 0), "
               "CHECK (balance <= 1000000000000));"
               "INSERT INTO wallet_account (id, kind, owner, balance, last_seq, created_ms) "
               "VALUES ('mint', 'mint', NULL, 0, 0, 0);"
               "INSERT INTO wallet_account (id, kind, owner, balance, last_seq, created_ms) "
               "VALUES ('expired', 'expired', NULL, 0, 0, 0);"
               "INSERT INTO wallet_account (id, kind, owner, balance, last_seq, created_ms) "
               "VALUES ('city', 'city', NULL, 0, 0, 0);"
               "CREATE TABLE wallet_transfer (id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK "
               "(kind IN ('issue', 'transfer', 'refund', 'payment', 'expire')), "
               "from_account TEXT NOT NULL, to_account TEXT NOT NULL, "
               "amount BIGINT NOT NULL CHECK (amount > 0), expires_ms BIGINT, refund_of TEXT, "
               "invoice TEXT, mandate TEXT, month TEXT, memo TEXT, created_by TEXT NOT NULL, "
               "created_ms BIGINT NOT NULL);"
               "CREATE INDEX wallet_transfer_by_refund ON wallet_transfer (refund_of);"
               "CREATE INDEX wallet_transfer_by_invoice ON wallet_transfer (invoice);"
               "CREATE TABLE wallet_entry (account TEXT NOT NULL, seq BIGINT NOT NULL, "
               "transfer_id TEXT NOT NULL, counterparty TEXT NOT NULL, amount BIGINT NOT NULL, "
               "balance_after BIGINT NOT NULL, created_ms BIGINT NOT NULL, "
               "PRIMARY KEY (account, seq));"
               "CREATE INDEX wallet_entry_by_transfer ON wallet_entry (transfer_id);"
               "CREATE TABLE wallet_lot (account TEXT NOT NULL, issue_id TEXT NOT NULL, "
               "expires_ms BIGINT NOT NULL, remaining BIGINT NOT NULL CHECK (remaining >= 0), "
               "PRIMARY KEY (account, issue_id));"
               "CREATE INDEX wallet_lot_live ON wallet_lot (account, expires_ms, issue_id) "
               "WHERE remaining > 0;"
               "CREATE INDEX wallet_lot_by_expiry ON wallet_lot (expires_ms, account) "
               "WHERE remaining > 0;"
               "CREATE TABLE wallet_lot_move (transfer_id TEXT NOT NULL, account TEXT NOT NULL, "
               "issue_id TEXT NOT NULL, amount BIGINT NOT NULL, "
               "PRIMARY KEY (transfer_id, account, issue_id));"
               "CREATE INDEX wallet_lot_move_by_lot ON wallet_lot_move (account, issue_id);"
               "CREATE TABLE wallet_refunded (transfer_id TEXT PRIMARY KEY, "
               "amount BIGINT NOT NULL CHECK (amount >= 0));"
               "CREATE TABLE wallet_idem (caller TEXT NOT NULL, idem_key TEXT NOT NULL, "
               "request_hash TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL, "
               "transfer_id TEXT NOT NULL, created_ms BIGINT NOT NULL, "
               "PRIMARY KEY (caller, idem_key));"
               "CREATE TABLE wallet_mandate (id TEXT PRIMARY KEY, person TEXT NOT NULL, "
               "org TEXT NOT NULL, purpose TEXT NOT NULL, limit_month BIGINT NOT NULL CHECK "
               "(limit_month > 0), created_ms BIGINT NOT NULL, revoked_ms BIGINT);"
               "CREATE INDEX wallet_mandate_by_person ON wallet_mandate (person, created_ms);"
               "CREATE TABLE wallet_mandate_use (mandate TEXT NOT NULL, month TEXT NOT NULL, "
               "used BIGINT NOT NULL CHECK (used >= 0), PRIMARY KEY (mandate, month));"
               "CREATE TABLE wallet_invoice (id TEXT PRIMARY KEY, person TEXT NOT NULL, "
               "issuer TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0), "
               "purpose TEXT NOT NULL, description TEXT NOT NULL, "
               "status TEXT NOT NULL CHECK (status IN ('open', 'paid')), transfer_id TEXT, "
               "mandate TEXT, created_ms BIGINT NOT NULL, paid_ms BIGINT);"
               "CREATE INDEX wallet_invoice_by_person ON wallet_invoice (person, created_ms);",
    },
    {
        /* issue 7 parts 2 and 3 (H-visits; docs/internals/visits.md): schedules and slots of
         * practitioners (the search's table beside the shared FHIR Schedule and Slot), the
         * appointments (the state behind each FHIR Appointment), one booking row per slot (its
         * primary key is the "never two bookings of one slot" guarantee), and the invoices by
         * their idempotency key (the state behind each FHIR Invoice) */
        .version = 15,
        .name = "visits",
        .sql =
            "CREATE TABLE visits_schedule (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
            "practitioner_id TEXT NOT NULL, specialty TEXT NOT NULL, "
            "created_ms BIGINT NOT NULL, UNIQUE (org_id, practitioner_id));"
            "CREATE TABLE visits_slot (id TEXT PRIMARY KEY, "
            "schedule_id TEXT NOT NULL REFERENCES visits_schedule (id), "
            "org_id TEXT NOT NULL, practitioner_id TEXT NOT NULL, specialty TEXT NOT NULL, "
            "modes TEXT NOT NULL CHECK (modes IN ('in-person', 'online', 'both')), "
            "start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, "
            "status TEXT NOT NULL CHECK (status IN ('free', 'busy')), "
            "created_ms BIGINT NOT NULL, UNIQUE (schedule_id, start_ms), "
            "CHECK (end_ms > start_ms));"
            "CREATE INDEX visits_slot_by_time ON visits_slot (status, start_ms);"
            "CREATE INDEX visits_slot_by_org ON visits_slot (org_id, start_ms);"
            "CREATE TABLE visits_appointment (id TEXT PRIMARY KEY, "
            "subject_id TEXT NOT NULL, slot_id TEXT NOT NULL REFERENCES visits_slot (id), "
            "org_id TEXT NOT NULL, practitioner_id TEXT NOT NULL, "
            "mode TEXT NOT NULL CHECK (mode IN ('in-person', 'online')), "
            "start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, "
            "status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'arrived', "
            "'fulfilled')), "
            "qr_id TEXT, room TEXT, encounter_id TEXT, report_id TEXT, invoice_id TEXT, "
            "booked_by TEXT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, "
            "reminded_ms BIGINT, reason TEXT);"
            "CREATE INDEX visits_appointment_by_subject ON visits_appointment "
            "(subject_id, start_ms);"
            "CREATE INDEX visits_appointment_by_org ON visits_appointment (org_id, start_ms);"
            "CREATE INDEX visits_appointment_by_time ON visits_appointment (status, start_ms);"
            "CREATE TABLE visits_booking (slot_id TEXT PRIMARY KEY REFERENCES visits_slot (id), "
            "appointment_id TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL);"
            "CREATE TABLE visits_invoice (key TEXT PRIMARY KEY, invoice_id TEXT NOT NULL UNIQUE, "
            "subject_id TEXT NOT NULL, issuer_org TEXT NOT NULL, "
            "amount BIGINT NOT NULL CHECK (amount > 0), purpose TEXT NOT NULL, "
            "status TEXT NOT NULL CHECK (status IN ('issued', 'balanced')), "
            "created_ms BIGINT NOT NULL, paid_ms BIGINT, transfer TEXT);",
    },
    {
        /* issue 7 parts 4 and 6 (H-rx; docs/internals/prescription.md, mobility.md): the
         * citizen's chosen pharmacy and taxi opt-in (with the consent each rests on), the
         * prescription orders a pharmacy works through (the state behind each FHIR Task), the
         * taxi orders by appointment, and the weather reported by an administrator or a sensor */
        .version = 16,
        .name = "pharmacy_mobility",
        .sql = "CREATE TABLE rx_pharmacy_choice (subject_id TEXT PRIMARY KEY, "
               "org_id TEXT NOT NULL, consent_id TEXT NOT NULL, updated_ms BIGINT NOT NULL);"
               "CREATE TABLE rx_order (task_id TEXT PRIMARY KEY, request_id TEXT NOT NULL, "
               "subject_id TEXT NOT NULL, pharmacy_id TEXT NOT NULL, prescriber_org TEXT NOT NULL, "
               "prescriber_id TEXT NOT NULL, medication TEXT NOT NULL, status TEXT NOT NULL, "
               "guidance TEXT, guidance_by TEXT, guidance_ms BIGINT, dispense_id TEXT, "
               "dispensed_by TEXT, dispensed_ms BIGINT, fee BIGINT, delivered_ms BIGINT, "
               "created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL);"
               "CREATE INDEX rx_order_by_pharmacy ON rx_order (pharmacy_id, created_ms);"
               "CREATE INDEX rx_order_by_subject ON rx_order (subject_id, created_ms);"
               "CREATE TABLE mobility_optin (subject_id TEXT PRIMARY KEY, "
               "company_id TEXT NOT NULL, consent_id TEXT NOT NULL, enabled INTEGER NOT NULL, "
               "updated_ms BIGINT NOT NULL);"
               "CREATE TABLE mobility_order (appointment_id TEXT PRIMARY KEY, "
               "task_id TEXT NOT NULL UNIQUE, subject_id TEXT NOT NULL, company_id TEXT NOT NULL, "
               "facility_id TEXT NOT NULL, start_ms BIGINT NOT NULL, pickup_ms BIGINT NOT NULL, "
               "lead_min INTEGER NOT NULL, distance_m BIGINT NOT NULL, snow INTEGER NOT NULL, "
               "pickup_place TEXT NOT NULL, facility_name TEXT NOT NULL, "
               "status TEXT NOT NULL, note TEXT, created_ms BIGINT NOT NULL, "
               "updated_ms BIGINT NOT NULL);"
               "CREATE INDEX mobility_order_by_company ON mobility_order (company_id, pickup_ms);"
               "CREATE INDEX mobility_order_by_subject ON mobility_order (subject_id, start_ms);"
               "CREATE TABLE mobility_weather (id INTEGER PRIMARY KEY, snow INTEGER NOT NULL, "
               "source TEXT NOT NULL, sensor TEXT, reported_by TEXT NOT NULL, "
               "updated_ms BIGINT NOT NULL);",
    },
    {
        /* issue 8 (H-views; src/identity/family_api.c): a citizen's invitations of a family
         * member, each a code handed over in person; only the code's BLAKE2b-256 is kept. The
         * number is the contract's 18 taken as 17 (17 was left unused): the lead renumbers. */
        .version = 17,
        .name = "family_invitations",
        .sql = "CREATE TABLE family_invitation (id TEXT PRIMARY KEY, "
               "subject_id TEXT NOT NULL REFERENCES person (id), "
               "code_hash TEXT NOT NULL UNIQUE, rights TEXT NOT NULL, valid_until_ms BIGINT, "
               "created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, accepted_ms BIGINT, "
               "accepted_by TEXT REFERENCES person (id), link_id TEXT, cancelled_ms BIGINT);"
               "CREATE INDEX family_invitation_by_subject ON family_invitation "
               "(subject_id, created_ms);",
    },
    {
        /* issues 5 and 6, the write volume of a FHIR resource (H-fwrite; docs/internals/fhir.md
         * "Storage"): the body stored once (fhir_version keeps a body only for superseded
         * versions: the current one is read from fhir_resource), and fhir_version and every
         * search index table clustered on their key (SQLite: WITHOUT ROWID, so the table is its
         * "by resource" index and one B-tree fewer per row; PostgreSQL: the primary key is that
         * index). Index rows are numbered per resource (n) so that the key is unique without
         * NULL columns. Existing rows are converted; fhir_version_by_time (no query used it) is
         * dropped. Tables are copied aside and made anew rather than renamed (a rename makes
         * SQLite rewrite the whole schema: 0.2 G instructions per open of a new store). */
        .version = 18,
        .name = "fhir_write_volume",
        .sql =
            "CREATE TABLE fhir_version_v17 AS SELECT * FROM fhir_version;"
            "DROP TABLE fhir_version;"
            "CREATE TABLE fhir_version (rtype TEXT NOT NULL, id TEXT NOT NULL, version INTEGER "
            "NOT NULL, updated_ms BIGINT NOT NULL, method TEXT NOT NULL CHECK (method IN "
            "('create', 'update', 'delete')), subject TEXT, category TEXT, body TEXT, CHECK "
            "(method <> 'delete' OR body IS NULL), PRIMARY KEY (rtype, id, version)) WITHOUT "
            "ROWID;"
            "INSERT INTO fhir_version (rtype, id, version, updated_ms, method, subject, category, "
            "body) SELECT v.rtype, v.id, v.version, v.updated_ms, v.method, v.subject, "
            "v.category, CASE WHEN EXISTS (SELECT 1 FROM fhir_resource r WHERE r.rtype = v.rtype "
            "AND r.id = v.id AND r.version = v.version AND r.deleted = 0) THEN NULL ELSE v.body "
            "END FROM fhir_version_v17 v;"
            "DROP TABLE fhir_version_v17;"
            "CREATE INDEX fhir_version_by_type ON fhir_version (rtype, updated_ms);"
            "CREATE TABLE fhir_ix_token_v17 AS SELECT * FROM fhir_ix_token;"
            "DROP TABLE fhir_ix_token;"
            "CREATE TABLE fhir_ix_token (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, system TEXT, code TEXT, display TEXT, subject TEXT, "
            "PRIMARY KEY (rtype, id, param, n)) WITHOUT ROWID;"
            "INSERT INTO fhir_ix_token (rtype, id, param, n, system, code, display, subject) "
            "SELECT rtype, id, param, row_number() OVER (PARTITION BY rtype, id ORDER BY param) - "
            "1, system, code, display, subject FROM fhir_ix_token_v17;"
            "DROP TABLE fhir_ix_token_v17;"
            "CREATE INDEX fhir_ix_token_by_code ON fhir_ix_token (rtype, param, code, system, "
            "subject, id);"
            "CREATE TABLE fhir_ix_date_v17 AS SELECT * FROM fhir_ix_date;"
            "DROP TABLE fhir_ix_date;"
            "CREATE TABLE fhir_ix_date (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, lo_ms BIGINT NOT NULL, hi_ms BIGINT NOT NULL, PRIMARY KEY "
            "(rtype, id, param, n)) WITHOUT ROWID;"
            "INSERT INTO fhir_ix_date (rtype, id, param, n, lo_ms, hi_ms) SELECT rtype, id, "
            "param, row_number() OVER (PARTITION BY rtype, id ORDER BY param) - 1, lo_ms, hi_ms "
            "FROM fhir_ix_date_v17;"
            "DROP TABLE fhir_ix_date_v17;"
            "CREATE INDEX fhir_ix_date_by_lo ON fhir_ix_date (rtype, param, lo_ms);"
            "CREATE TABLE fhir_ix_ref_v17 AS SELECT * FROM fhir_ix_ref;"
            "DROP TABLE fhir_ix_ref;"
            "CREATE TABLE fhir_ix_ref (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, target_type TEXT, target_id TEXT, url TEXT, PRIMARY KEY "
            "(rtype, id, param, n)) WITHOUT ROWID;"
            "INSERT INTO fhir_ix_ref (rtype, id, param, n, target_type, target_id, url) SELECT "
            "rtype, id, param, row_number() OVER (PARTITION BY rtype, id ORDER BY param) - 1, "
            "target_type, target_id, url FROM fhir_ix_ref_v17;"
            "DROP TABLE fhir_ix_ref_v17;"
            "CREATE INDEX fhir_ix_ref_by_target ON fhir_ix_ref (rtype, param, target_id, "
            "target_type, id);"
            "CREATE INDEX fhir_ix_ref_reverse ON fhir_ix_ref (target_type, target_id);"
            "CREATE TABLE fhir_ix_string_v17 AS SELECT * FROM fhir_ix_string;"
            "DROP TABLE fhir_ix_string;"
            "CREATE TABLE fhir_ix_string (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, PRIMARY KEY "
            "(rtype, id, param, n)) WITHOUT ROWID;"
            "INSERT INTO fhir_ix_string (rtype, id, param, n, norm, exact) SELECT rtype, id, "
            "param, row_number() OVER (PARTITION BY rtype, id ORDER BY param) - 1, norm, exact "
            "FROM fhir_ix_string_v17;"
            "DROP TABLE fhir_ix_string_v17;"
            "CREATE INDEX fhir_ix_string_by_norm ON fhir_ix_string (rtype, param, norm);"
            "CREATE TABLE fhir_ix_number_v17 AS SELECT * FROM fhir_ix_number;"
            "DROP TABLE fhir_ix_number;"
            "CREATE TABLE fhir_ix_number (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL, PRIMARY KEY (rtype, id, "
            "param, n)) WITHOUT ROWID;"
            "INSERT INTO fhir_ix_number (rtype, id, param, n, value) SELECT rtype, id, param, "
            "row_number() OVER (PARTITION BY rtype, id ORDER BY param) - 1, value FROM "
            "fhir_ix_number_v17;"
            "DROP TABLE fhir_ix_number_v17;"
            "CREATE INDEX fhir_ix_number_by_value ON fhir_ix_number (rtype, param, value);"
            "CREATE TABLE fhir_ix_quantity_v17 AS SELECT * FROM fhir_ix_quantity;"
            "DROP TABLE fhir_ix_quantity;"
            "CREATE TABLE fhir_ix_quantity (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL, system TEXT, code TEXT, "
            "unit TEXT, PRIMARY KEY (rtype, id, param, n)) WITHOUT ROWID;"
            "INSERT INTO fhir_ix_quantity (rtype, id, param, n, value, system, code, unit) SELECT "
            "rtype, id, param, row_number() OVER (PARTITION BY rtype, id ORDER BY param) - 1, "
            "value, system, code, unit FROM fhir_ix_quantity_v17;"
            "DROP TABLE fhir_ix_quantity_v17;"
            "CREATE INDEX fhir_ix_quantity_by_value ON fhir_ix_quantity (rtype, param, value);"
            "CREATE TABLE fhir_ix_uri_v17 AS SELECT * FROM fhir_ix_uri;"
            "DROP TABLE fhir_ix_uri;"
            "CREATE TABLE fhir_ix_uri (rtype TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT "
            "NULL, n INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (rtype, id, param, n)) "
            "WITHOUT ROWID;"
            "INSERT INTO fhir_ix_uri (rtype, id, param, n, value) SELECT rtype, id, param, "
            "row_number() OVER (PARTITION BY rtype, id ORDER BY param) - 1, value FROM "
            "fhir_ix_uri_v17;"
            "DROP TABLE fhir_ix_uri_v17;"
            "CREATE INDEX fhir_ix_uri_by_value ON fhir_ix_uri (rtype, param, value, id);",
    },
};

const struct store__migration *store__migrations(size_t *n)
{
    *n = sizeof migrations / sizeof migrations[0];
    return migrations;
}

int store_schema_latest(void)
{
    size_t n = sizeof migrations / sizeof migrations[0];
    return n > 0 ? migrations[n - 1].version : 0;
}
