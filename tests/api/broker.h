/* broker.h - a private Mosquitto broker per API test (broker.c): a temporary folder, a free
 * loopback port, the dynamic-security plugin with an admin user "cityos-admin" whose random
 * password is in a file (0600), persistence on in the folder. The same set-up as
 * scripts/mosquitto.sh (which scripts/run.sh uses); docs/internals/devices.md explains it. */
#ifndef CITYOS_API_BROKER_H
#define CITYOS_API_BROKER_H

struct broker;

/* Starts a broker and waits (up to 10 s) until it accepts TCP connections on 127.0.0.1.
 * Never returns NULL: fails the test when Mosquitto does not come up. */
struct broker *broker_start(void);

int broker_port(const struct broker *b);
const char *broker_admin_password_file(const struct broker *b);
const char *broker_admin_password(const struct broker *b); /* the file's content */
const char *broker_dir(const struct broker *b); /* conf, dynamic-security.json, mosquitto.db */

/* Stops the broker gracefully (SIGTERM: it saves its database) or abruptly (SIGKILL), then
 * starts it again on the same folder and port and waits until it accepts connections. Sessions
 * and queued QoS 1 messages survive what the persistence settings keep (devices.md). */
void broker_restart(struct broker *b);
void broker_restart_kill9(struct broker *b);

/* Stops the broker (SIGTERM, then SIGKILL after 10 s), removes its folder and frees b. NULL is
 * fine. A broker a failed test left running is stopped when the test process exits. */
void broker_stop(struct broker *b);

#endif
