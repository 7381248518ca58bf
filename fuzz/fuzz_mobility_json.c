/* fuzz_mobility_json.c - the taxi endpoints' request bodies (parse.c): the opt-in, a status
 * update and the weather, read strictly; whatever is accepted must hold the documented bounds.
 * Also the pickup computation on coordinates and parameters taken from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/jsonx.h"
#include "services/mobility/mobility.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    if (size >= 40) { /* raw bytes: any parameters and points, never a crash or a late pickup */
        int32_t v[10];
        memcpy(v, data, sizeof v);
        struct mobility_params p = {v[0] % 300, v[1] % 500, v[2] % 500, v[3] % 300, v[4] & 1};
        struct id_coords a = {1, v[5] % 100000000, v[6] % 200000000};
        struct id_coords b = {1, v[7] % 100000000, v[8] % 200000000};
        struct mobility_pickup out;
        if (mobility_pickup_compute(&p, &a, &b, 1800000000000LL, &out, &e) == 0 &&
            (out.lead_min < MOBILITY_STEP_MIN || out.lead_min % MOBILITY_STEP_MIN != 0 ||
             out.lead_min < p.margin_min || out.pickup_ms >= 1800000000000LL))
            abort();
    }
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    const char *company, *note, *source, *sensor;
    const json_t *ev;
    if (mobility_parse_optin(in, &company, &ev, &e) == 0 &&
        (!ids_valid(company) || !json_is_object(ev)))
        abort();
    enum mobility_status s;
    if (mobility_parse_status(in, &s, &note, &e) == 0 &&
        (s == MOBILITY_REQUESTED || mobility_status_name(s) == NULL))
        abort();
    int snow = -1;
    if (mobility_parse_weather(in, &snow, &source, &sensor, &e) == 0 &&
        ((snow != 0 && snow != 1) ||
         (strcmp(source, "sensor") == 0 && (sensor == NULL || sensor[0] == '\0'))))
        abort();
    json_decref(in);
    return 0;
}
