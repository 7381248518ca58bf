/* fuzz_prescription_json.c - the e-prescription's request bodies (prescription_parse.c): a new
 * prescription, the guidance, the dispense, the delivery and the pharmacy choice, each read
 * strictly; whatever is accepted must hold the documented bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/jsonx.h"
#include "services/visits/prescription.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    struct visits_rx_new rx;
    if (visits_rx_parse_new(in, &rx, &e) == 0 &&
        (!ids_valid(rx.patient) || rx.quantity < 1 || rx.quantity > 100000 || rx.days < 1 ||
         rx.days > 365 || rx.med_code == NULL || rx.med_display == NULL || rx.dosage == NULL ||
         rx.unit == NULL || rx.med_system == NULL))
        abort();
    const char *text, *channel, *note, *pharmacy;
    if (visits_rx_parse_guidance(in, &text, &channel, &e) == 0 &&
        (text == NULL || (strcmp(channel, "online") != 0 && strcmp(channel, "in-person") != 0)))
        abort();
    int64_t fee = 0;
    if (visits_rx_parse_dispense(in, &fee, &note, &e) == 0 && (fee < 1 || fee > VISITS_RX_FEE_MAX))
        abort();
    enum visits_rx_status s;
    if (visits_rx_parse_delivery(in, &s, &e) == 0 && s != VISITS_RX_DISPATCHED &&
        s != VISITS_RX_DELIVERED)
        abort();
    const json_t *ev;
    if (visits_rx_parse_choice(in, &pharmacy, &ev, &e) == 0 &&
        (!ids_valid(pharmacy) || !json_is_object(ev)))
        abort();
    json_decref(in);
    return 0;
}
