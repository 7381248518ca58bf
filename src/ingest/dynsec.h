/* dynsec.h - cityos' client of Mosquitto's dynamic-security plugin: it signs in as the broker's
 * administrator (config mqtt-admin-user and the password in mqtt-admin-password-file), sends
 * JSON commands on $CONTROL/dynamic-security/v1 and waits for their correlated answer on
 * .../response. With it cityos creates one broker client and role per device (publish on its
 * own readings topic only), removes them at revocation, and keeps the "cityos-ingest" service
 * account (docs/internals/devices.md). */
#ifndef COS_INGEST_DYNSEC_H
#define COS_INGEST_DYNSEC_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

struct config;
struct ingest_dynsec;

/* Topics and names fixed by the contract with the ingest (docs/internals/devices.md). */
#define INGEST_TOPIC_PREFIX      "cityos/v1/devices/"
#define INGEST_TOPIC_SUFFIX      "/readings"
#define INGEST_TOPIC_READINGS    INGEST_TOPIC_PREFIX "+" INGEST_TOPIC_SUFFIX
#define INGEST_SHARE_GROUP       "cityos-ingest" /* --ingest-share-group's default */
#define INGEST_SHARED_SUB        "$share/" INGEST_SHARE_GROUP "/" INGEST_TOPIC_READINGS
#define INGEST_SERVICE_USER      "cityos-ingest"
#define INGEST_SERVICE_SECRET    "mqtt-ingest.secret" /* in the data folder, 0600 */
#define INGEST_DEVICE_ROLE_PFX   "cityos-device-"
#define INGEST_DYNSEC_TIMEOUT_MS 5000 /* the longest one command batch is waited for */

/* Connects to c->mqtt_host:c->mqtt_port as c->mqtt_admin_user and waits (up to
 * INGEST_DYNSEC_TIMEOUT_MS) until it is signed in and subscribed to the responses. The
 * connection reconnects by itself afterwards. *out is owned by the caller
 * (ingest_dynsec_close). Fails with ERR_INVALID (no port or no readable password file),
 * ERR_UNAVAILABLE (the broker did not accept us in time: e says why), ERR_NOMEM. */
int ingest_dynsec_open(struct ingest_dynsec **out, const struct config *c, struct err *e);
void ingest_dynsec_close(struct ingest_dynsec *d); /* NULL is fine */

/* Sends the commands (a JSON array of command objects; each gets a correlationData here) in
 * one message and waits up to timeout_ms for the answer. Calls are serialised (one batch in
 * flight). On 0, *responses (may be NULL: not wanted) is a new reference to the "responses"
 * array, one object per command in order, each with "error" when that command failed.
 * Returns 0, ERR_UNAVAILABLE (not connected, or no answer in time), ERR_INVALID (an answer we
 * cannot read), ERR_NOMEM. */
int ingest_dynsec_run(struct ingest_dynsec *d, json_t *commands, json_t **responses, int timeout_ms,
                      struct err *e);

/* A device's broker account: role INGEST_DEVICE_ROLE_PFX<id> allowing publishClientSend on
 * INGEST_TOPIC_PREFIX<id>INGEST_TOPIC_SUFFIX only, and client username <id>, client id <id>,
 * password. Fails with ERR_CONFLICT when either exists already (nothing is left behind), or
 * as ingest_dynsec_run. */
int ingest_dynsec_add_device(struct ingest_dynsec *d, const char *device_id, const char *password,
                             struct err *e);

/* Deletes the device's client (the broker disconnects it at once) and its role. Missing ones
 * are fine (idempotent). Returns 0 or as ingest_dynsec_run. */
int ingest_dynsec_remove_device(struct ingest_dynsec *d, const char *device_id, struct err *e);

/* The shared subscription of group: "$share/<group>/" INGEST_TOPIC_READINGS into out. Returns 0,
 * or ERR_INVALID when group is empty, holds '/', '+' or '#', or does not fit. */
int ingest_shared_filter(const char *group, char *out, size_t cap, struct err *e);

/* Makes sure the service account exists with exactly its rights: role and client
 * INGEST_SERVICE_USER, may subscribe to the shared subscription of share_group
 * (ingest_shared_filter; NULL: INGEST_SHARE_GROUP) and to INGEST_TOPIC_READINGS, and receive on
 * INGEST_TOPIC_READINGS, nothing else (the ACLs of groups used before stay); its password is the
 * one in <data_dir>/INGEST_SERVICE_SECRET (made, 0600, when missing: the first process to make
 * it wins, the others read it). Returns 0 or an ERR_*. */
int ingest_dynsec_ensure_service(struct ingest_dynsec *d, const char *data_dir,
                                 const char *share_group, struct err *e);

/* The service account's sign-in for the ingest's own connections: user INGEST_SERVICE_USER and
 * the password in <c->data_dir>/INGEST_SERVICE_SECRET (ingest_dynsec_ensure_service made it).
 * Returns 0, ERR_NOTFOUND (no secret yet), ERR_IO. */
int ingest_dynsec_service_login(const struct config *c, char user[64], char pass[128],
                                struct err *e);

/* ---- the process-wide connection `cityos serve` keeps when mqtt-port is set ---- */

/* Opens it and ensures the service account (for c->ingest_share_group). Returns 0 (also when
 * mqtt-port is 0: nothing is opened then) or an ERR_* with e saying why. */
int ingest_dynsec_start(const struct config *c, struct err *e);
/* The connection, or NULL when there is no broker (mqtt-port 0) or it is not started. */
struct ingest_dynsec *ingest_dynsec_global(void);
void ingest_dynsec_stop(void);

#endif
