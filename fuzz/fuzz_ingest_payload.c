/* fuzz_ingest_payload.c - a device's MQTT payload (src/ingest/payload.h): the strict parser of
 * the compact format and of FHIR Observations, then the mapping of whatever parses, for every
 * device kind; a mapped resource must be a valid R4 resource. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/validate.h"
#include "ingest/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = {"bp-wrist",    "bp-upper-arm",   "pillbox",      "scale",
                                        "thermometer", "pulse-oximeter", "glucose-meter"};
    struct ingest_reading r;
    struct err e;
    /* 2026-11-24T12:00:00Z */
    if (ingest_payload_parse(data, size, 1795521600000LL, &r, &e) != 0)
        return 0;
    if (r.time_ms < 946684800000LL || r.time[0] == '\0')
        abort();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (!ingest_kind_fits(kinds[k], r.kind))
            continue;
        struct ingest_source src = {.device_id = "0123456789abcdefghjkmnpqrs",
                                    .kind = kinds[k],
                                    .subject = "abcdefghjkmnpqrs0123456789",
                                    .fhir_device_id = k % 2 ? "dev1" : NULL};
        const char *rtype = NULL;
        json_t *o = ingest_map_resource(&r, &src, &rtype, &e);
        if (o == NULL) {
            if (r.kind != INGEST_FHIR) /* only a device's own Observation may name others */
                abort();
            continue;
        }
        struct fhir_issues is;
        fhir_issues_init(&is, NULL, NULL);
        fhir_validate(o, rtype, &is);
        if (is.nerrors > 0 && r.kind != INGEST_FHIR)
            abort(); /* our own mapping must always be valid */
        json_decref(o);
    }
    ingest_reading_release(&r);
    return 0;
}
