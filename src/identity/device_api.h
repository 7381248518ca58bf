/* device_api.h - a citizen's home devices over HTTP (docs/api.md, docs/internals/devices.md):
 *   POST   /api/v1/me/devices        register a device: the broker account first, then the
 *                                    device row and its FHIR Device (with the audit entry) in one
 *                                    write; 201 with the MQTT credentials, shown this once
 *   GET    /api/v1/me/devices        the citizen's devices (the read is on their trail)
 *   DELETE /api/v1/me/devices/{id}   revoke: the broker account goes at once, then the row and
 *                                    the FHIR Device (status inactive) are marked
 * The citizen acts, or a family member whose link gives the right (writing "lifelog" data:
 * `everything`; reading: `see_record`). With no broker configured (mqtt-port 0) registering and
 * revoking answer 503. */
#ifndef COS_ID_DEVICE_API_H
#define COS_ID_DEVICE_API_H

#include "http/router.h"
#include "store/store.h"

struct device_api {
    struct store *store;
    const char *mqtt_host; /* told to devices with their credentials */
    int mqtt_port;         /* 0: no broker */
};

/* Registers the routes. api must outlive the router. The broker connection is the process-wide
 * one (ingest_dynsec_global()); the consent index the process-wide one. Returns 0 or an ERR_*. */
int device_api_register(struct http_router *r, struct device_api *api, struct store *s);

#endif
