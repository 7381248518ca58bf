/* pickup.c - the pickup time of a taxi to an appointment: great-circle distance from the
 * citizen's home to the facility, a road factor, a speed, a snow factor, a margin, and the
 * rounding (docs/internals/mobility.md "The pickup time"). Pure: no store, no clock. */
#include <math.h>
#include <string.h>

#include "services/mobility/mobility.h"

#define EARTH_RADIUS_M 6371008.8 /* the IUGG mean radius */

static double rad(int64_t e6)
{
    return (double)e6 / 1e6 * (M_PI / 180.0);
}

double mobility_distance_m(const struct id_coords *a, const struct id_coords *b)
{
    double p1 = rad(a->lat_e6), p2 = rad(b->lat_e6);
    double dp = p2 - p1, dl = rad(b->lon_e6) - rad(a->lon_e6);
    double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    if (h > 1.0)
        h = 1.0;
    return 2.0 * EARTH_RADIUS_M * asin(sqrt(h));
}

void mobility_params_from_config(const struct config *cfg, int snow, struct mobility_params *out)
{
    out->speed_kmh = (int)cfg->taxi_speed_kmh;
    out->road_factor_pct = (int)cfg->taxi_road_factor_pct;
    out->snow_pct = (int)cfg->taxi_snow_pct;
    out->margin_min = (int)cfg->taxi_margin_min;
    out->snow = snow != 0;
}

static int coords_ok(const struct id_coords *c)
{
    return c != NULL && c->set && c->lat_e6 >= -90000000 && c->lat_e6 <= 90000000 &&
           c->lon_e6 >= -180000000 && c->lon_e6 <= 180000000;
}

int mobility_pickup_compute(const struct mobility_params *p, const struct id_coords *home,
                            const struct id_coords *facility, int64_t start_ms,
                            struct mobility_pickup *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (p->speed_kmh < 1 || p->speed_kmh > 200)
        return err_set(e, ERR_INVALID, "speed: 1..200 km/h");
    if (p->road_factor_pct < 100 || p->road_factor_pct > 400)
        return err_set(e, ERR_INVALID, "road factor: 100..400 %%");
    if (p->snow_pct < 100 || p->snow_pct > 400)
        return err_set(e, ERR_INVALID, "snow factor: 100..400 %%");
    if (p->margin_min < 0 || p->margin_min > 240)
        return err_set(e, ERR_INVALID, "margin: 0..240 minutes");
    if (!coords_ok(home))
        return err_set(e, ERR_INVALID, "home: no coordinates");
    if (!coords_ok(facility))
        return err_set(e, ERR_INVALID, "facility: no coordinates");
    double d = mobility_distance_m(home, facility);
    out->distance_m = (int64_t)llround(d);
    /* integer arithmetic from the rounded metre on: the same inputs give the same minute on
     * every machine */
    out->road_m = (out->distance_m * p->road_factor_pct + 50) / 100;
    /* seconds = road_m / (speed_kmh * 1000 / 3600) = road_m * 3600 / (speed_kmh * 1000),
     * times snow_pct / 100 when it snows, rounded up */
    int64_t num = out->road_m * 3600 * (p->snow ? p->snow_pct : 100);
    int64_t den = (int64_t)p->speed_kmh * 1000 * 100;
    out->travel_s = (num + den - 1) / den;
    int64_t lead_s = out->travel_s + (int64_t)p->margin_min * 60;
    int64_t step_s = MOBILITY_STEP_MIN * 60;
    int64_t lead_steps = (lead_s + step_s - 1) / step_s;
    if (lead_steps < 1)
        lead_steps = 1; /* a taxi needs some minutes even next door */
    out->lead_min = (int)(lead_steps * MOBILITY_STEP_MIN);
    out->pickup_ms = start_ms - (int64_t)out->lead_min * 60 * 1000;
    return 0;
}
