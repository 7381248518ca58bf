/* serve.c - `cityos serve`: opens the store, starts what the process's roles (--role) run,
 * serves until SIGTERM or SIGINT, then drains in-flight requests and flushes the writer before
 * exiting.
 *
 * Roles (docs/operations.md "Roles"): every process opens the store (applying pending
 * migrations), loads the consent index (polled every second for other processes' changes by
 * the ticker) and listens for /health and /metrics. api adds every other route, the broker's
 * device accounts and the triage tables; ingest adds the MQTT subscribers (a share of the
 * readings); worker adds the services' consumers, the event worker, the services' scans and the
 * signed audit checkpoints. The default, all, is one process doing everything. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "audit/audit_api.h"
#include "audit/verify_api.h"
#include "base/config.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/ticker.h"
#include "consent/consent_api.h"
#include "fhir/fhir_api.h"
#include "consent/index.h"
#include "consent/patients_api.h"
#include "http/ops.h"
#include "http/server.h"
#include "identity/admin_api.h"
#include "identity/family_api.h"
#include "identity/authorize.h"
#include "identity/oauth_api.h"
#include "identity/signin_api.h"
#include "identity/discovery.h"
#include "identity/device_api.h"
#include "ingest/dynsec.h"
#include "events/event.h"
#include "http/metrics.h"
#include "ingest/ingest.h"
#include "services/homedoctor/service.h"
#include "identity/keys.h"
#include "identity/principal.h"
#include "services/notices/notices_api.h"
#include "web/portal.h"
#include "services/triage/triage.h"
#include "services/triage/triage_api.h"
#include "services/wallet/wallet.h"
#include "services/wallet/wallet_api.h"
#include "services/mobility/mobility.h"
#include "services/visits/prescription.h"
#include "services/visits/visits.h"
#include "store/store.h"

/* The modules' long-lived state; static because it lives as long as the process serves. */
static struct http_router router;
static struct http_ops ops;
static struct notices_api notices;
static struct oauth_api oauth;
static struct authorize_api authorize;
static struct signin_api signin;
static struct admin_api admin;
static struct id_discovery discovery;
static struct audit_api audit_views;
static struct consent_api consents;
static struct fhir_api fhir;
static struct device_api devices;
static struct triage_api triage;
static struct wallet_api wallet_routes;
static struct mobility_api mobility_routes;
static struct visits_rx_api rx_routes;
static struct visits_api visits_routes;
static struct web_portal portal;

/* The api role's routes (the ops routes, every role's, are registered before). */
static int register_routes(struct store *s, const struct config *cfg)
{
    int rc = notices_api_register(&router, &notices, s);
    oauth.token_ttl_s = cfg->access_token_ttl;
    oauth.issuer = cfg->issuer;
    if (rc == 0)
        rc = oauth_api_register(&router, &oauth, s);
    if (rc == 0)
        rc = authorize_api_register(&router, &authorize, s, cfg->issuer);
    if (rc == 0)
        rc = signin_api_register(&router, &signin, s, cfg->issuer, cfg->data_dir);
    if (rc == 0)
        rc = admin_api_register(&router, &admin, s);
    audit_views.issuer = cfg->issuer;
    if (rc == 0)
        rc = audit_api_register(&router, &audit_views, s);
    if (rc == 0)
        rc = audit_verify_api_register(&router, s); /* the city view's integrity check */
    oauth.consent = consent_index_global();         /* userinfo decides with it (loaded before) */
    consents.issuer = cfg->issuer;
    consents.controller_name_ja = cfg->controller_name_ja;
    consents.controller_name_en = cfg->controller_name_en;
    consents.controller_address = cfg->controller_address;
    consents.controller_phone = cfg->controller_phone;
    consents.controller_email = cfg->controller_email;
    if (rc == 0)
        rc = consent_api_register(&router, &consents, s);
    /* devices: their endpoints (the broker account manager is started before) */
    devices.mqtt_host = cfg->mqtt_host;
    devices.mqtt_port = (int)cfg->mqtt_port;
    if (rc == 0)
        rc = device_api_register(&router, &devices, s);
    if (rc == 0 && (rc = id_discovery_init(&discovery, cfg->issuer, id_keys_get(), NULL)) == 0)
        rc = id_discovery_register(&router, &discovery);
    /* the citizen portal at / (issue 8, docs/internals/portal.md) */
    if (rc == 0)
        rc = web_portal_register(&router, &portal, s, cfg->issuer);
    /* the visit journey (issue 7) */
    if (rc == 0)
        rc = triage_api_register(&router, &triage, s);
    if (rc == 0)
        rc = wallet_api_register(&router, &wallet_routes, s);
    if (rc == 0)
        rc = visits_api_register(&router, &visits_routes, s, cfg);
    if (rc == 0)
        rc = visits_rx_api_register(&router, &rx_routes, s, cfg);
    if (rc == 0)
        rc = mobility_api_register(&router, &mobility_routes, s, cfg);
    rc = rc == 0 ? family_api_routes(&router, s) : rc;   /* issue 8: /api/v1/me/family */
    rc = rc == 0 ? patients_api_routes(&router, s) : rc; /* issue 8: /api/v1/org/patients */
    /* last: the literal routes before it (/fhir/Consent, /fhir/AuditEvent,
     * /fhir/.well-known/smart-configuration) win over its /fhir/{type}/{id} patterns */
    if (rc == 0)
        rc = fhir_api_register(&router, &fhir, s, cfg->issuer);
    return rc;
}

/* Stops what start_roles() and the rest of cli_serve() started (each is safe when not started). */
static void stop_services(void)
{
    ingest_stop(); /* the message being stored finishes; nothing more is acknowledged */
    event_worker_stop();
    homedoctor_service_stop(); /* its scan thread, before the consent index goes */
    visits_stop();             /* the reminder thread */
}

/* The roles' own parts after the routes: the services and the event worker (worker), the MQTT
 * subscribers (ingest). Returns 0 or an ERR_* with e set. */
static int start_roles(struct store *store, const struct config *cfg, unsigned roles, struct err *e)
{
    if ((roles & CONFIG_ROLE_WORKER) != 0) {
        /* issue 6: the home doctor; issue 7: invoices paid under mandates, bookings
         * (invoice.paid, reminders), e-prescriptions (the pharmacy fee), taxis timed to
         * appointments; then the outbox worker that hands them the events */
        if (homedoctor_service_register(store, cfg, e) != 0 ||
            wallet_register(store, cfg, e) != 0 || visits_register(store, cfg, e) != 0 ||
            visits_rx_register(store, cfg, e) != 0 || mobility_register(store, cfg, e) != 0 ||
            event_worker_start(store, NULL, e) != 0)
            return e->code != 0 ? e->code : ERR_INTERNAL;
    } else if ((roles & CONFIG_ROLE_API) != 0) {
        /* the home doctor's alerts already written are listed in the citizen's inbox by the API;
         * the worker role sets this in homedoctor_service_register() */
        int rc = consent_inbox_source_set(homedoctor_inbox_alerts, store);
        if (rc != 0)
            return err_set(e, rc, "homedoctor: an inbox source is already set");
    }
    /* device readings (issue 6, docs/internals/ingest.md): the MQTT subscribers (when
     * mqtt-port is set) */
    if ((roles & CONFIG_ROLE_INGEST) != 0 && ingest_start(store, cfg, e) != 0)
        return e->code != 0 ? e->code : ERR_INTERNAL;
    if ((roles & (CONFIG_ROLE_INGEST | CONFIG_ROLE_WORKER)) != 0 &&
        http_metrics_add(ingest_metrics_render, NULL) != 0)
        return err_set(e, ERR_NOMEM, "cannot add the ingest metrics");
    return 0;
}

/* "api,ingest,worker" for the log. */
static const char *roles_text(unsigned roles, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s%s", (roles & CONFIG_ROLE_API) ? "api" : "",
             (roles & CONFIG_ROLE_API) && (roles & ~CONFIG_ROLE_API & CONFIG_ROLE_ALL) ? "," : "",
             (roles & CONFIG_ROLE_INGEST) ? "ingest" : "",
             (roles & CONFIG_ROLE_INGEST) && (roles & CONFIG_ROLE_WORKER) ? "," : "",
             (roles & CONFIG_ROLE_WORKER) ? "worker" : "");
    return buf;
}

int cli_serve(int argc, char **argv)
{
    struct config cfg;
    int rc = cli_prepare(&cfg, CONFIG_CMD_SERVE, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    const unsigned roles = cfg.roles;
    char roles_buf[32];
    roles_text(roles, roles_buf, sizeof roles_buf);

    /* every thread started from here on inherits the blocked signals; main waits for them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct err e = {0};
    /* every role: the schema is brought up to date by whichever process opens the store first
     * (store.md: migrations are applied once even when processes start together) */
    struct store *store = cli_open_store(&cfg);
    if (store == NULL)
        return 1;
    if (id_keys_open(cfg.data_dir, &e) != 0) {
        log_error("%s", e.msg);
        store_close(store);
        return 1;
    }
    if (id_principal_configure(cfg.admin_token, cfg.issuer, &e) != 0) {
        log_error("%s", e.msg);
        id_keys_close();
        store_close(store);
        return 1;
    }
    /* the triage tables (data/triage/, built in) are checked before anything is served */
    if ((roles & CONFIG_ROLE_API) != 0 && triage_register(store, &cfg, &e) != 0) {
        log_error("triage: %s", e.msg);
        id_keys_close();
        store_close(store);
        return 1;
    }
    /* every role: /health and /metrics (what an orchestrator probes), and the consent
     * decision's memory, loaded before anything is served: the API, the ingest (the device's
     * decision) and the services all decide with it */
    http_router_init(&router);
    ops.store = store;
    rc = http_ops_register(&router, &ops);
    if (rc == 0 && (rc = consent_index_open_global(store, &e)) != 0)
        log_error("consent index: %s", e.msg);
    /* the broker's account manager (when mqtt-port is set): the API's device accounts, and the
     * ingest's service account and its ACL for the share group (an ingest-only process needs
     * it only when it is given the administrator's password; else it signs in with the
     * service secret the api process made) */
    if (rc == 0 &&
        ((roles & CONFIG_ROLE_API) != 0 ||
         ((roles & CONFIG_ROLE_INGEST) != 0 && cfg.mqtt_admin_password_file[0] != '\0')) &&
        (rc = ingest_dynsec_start(&cfg, &e)) != 0)
        log_error("mqtt broker: %s", e.msg);
    if (rc == 0 && (roles & CONFIG_ROLE_API) != 0 && register_routes(store, &cfg) != 0) {
        log_error("cannot register the routes");
        rc = -1;
    }
    if (rc != 0) {
        consent_index_close_global();
        ingest_dynsec_stop();
        id_keys_close();
        store_close(store);
        return 1;
    }
    if (start_roles(store, &cfg, roles, &e) != 0) {
        log_error("starting the services: %s", e.msg);
        stop_services();
        consent_index_close_global();
        ingest_dynsec_stop();
        id_keys_close();
        store_close(store);
        return 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cfg.threads > 0 ? (int)cfg.threads : (cores > 0 ? (int)cores : 1);
    if ((roles & CONFIG_ROLE_API) == 0 && cfg.threads == 0)
        threads = 1; /* /health and /metrics only */
    struct http_server_options ho = {
        .listen = cfg.listen,
        .port = (int)cfg.port,
        .threads = threads,
        .body_limit = (size_t)cfg.body_limit,
        .header_limit = (size_t)cfg.header_limit,
        .connection_timeout = (int)cfg.connection_timeout,
        .request_timeout = (int)cfg.request_timeout,
    };
    struct http_server *server = NULL;
    if (http_server_start(&server, &ho, &router, &e) != 0) {
        log_error("%s", e.msg);
        stop_services();
        consent_index_close_global();
        ingest_dynsec_stop();
        id_keys_close();
        store_close(store);
        return 1;
    }
    atomic_store(&ops.server, server);
    /* every role polls consent changes and purges expired tokens; the signed audit checkpoints
     * are the worker's (one process of a deployment makes them) */
    struct ticker *ticker =
        ticker_start(store, (roles & CONFIG_ROLE_WORKER) != 0 ? cfg.checkpoint_interval * 1000 : 0);
    int port = http_server_port(server);
    LOG_AT(LOGL_INFO,
           json_pack("{s:s, s:i, s:i, s:s, s:i, s:s}", "listen", cfg.listen, "port", port,
                     "threads", ho.threads, "data_dir", cfg.data_dir, "schema",
                     store_schema_version(store), "role", roles_buf),
           "listening on http://%s:%d", cfg.listen, port);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("received %s: draining (grace %lld s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             cfg.shutdown_grace);
    uint64_t left = http_server_drain(server, (int)cfg.shutdown_grace);
    if (left > 0)
        log_warn("%llu requests still in flight after the grace period", (unsigned long long)left);
    if ((roles & CONFIG_ROLE_API) != 0)
        signin_api_release(&signin); /* resumes what still waits for the sign-in pool */
    http_server_stop(server);
    audit_verify_api_stop(); /* a check still walking the trail */
    stop_services();
    ticker_stop(ticker);
    consent_index_close_global();
    ingest_dynsec_stop();
    if ((roles & CONFIG_ROLE_API) != 0) {
        id_discovery_release(&discovery);
        web_portal_release(&portal);
    }
    id_principal_release();
    id_keys_close();
    store_close(store);
    log_info("stopped");
    return 0;
}
