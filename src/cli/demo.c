/* demo.c - `cityos demo`: seeds a data folder with demonstration data so a newcomer sees a
 * working City OS at once: notices, the town of demo_town.c, and the S1 purposes and consents
 * of demo_consent.c. Idempotent per kind. */
#include <stdio.h>

#include "base/config.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/demo.h"
#include "services/notices/notices_api.h"
#include "store/store.h"

static const struct notice demo_notices[] = {
    {"disaster", "12月7日(日) 総合防災訓練のお知らせ",
     "City-wide disaster drill on Sunday 7 December",
     "午前9時に防災無線で訓練開始をお知らせします。お近くの指定避難所へ避難してください。",
     "The drill starts at 9:00 with an announcement on the disaster radio. Please walk to your "
     "nearest designated shelter.",
     NULL, 0},
    {"health", "インフルエンザ予防接種の助成", "Influenza vaccination subsidy",
     "65歳以上の市民は12月末まで自己負担1,500円で接種できます。",
     "Citizens aged 65 and over can be vaccinated for 1,500 yen until the end of December.", NULL,
     0},
    {"transport", "湊地区 乗合タクシーの運行時刻変更", "Minato shared-taxi timetable change",
     "12月1日から通院便を1日4便に増便します。",
     "From 1 December the clinic service runs four times a day.", "Minato", 0},
    {"welfare", "除雪ボランティア募集", "Snow-clearing volunteers wanted",
     "高齢者世帯の除雪を手伝ってくださる方を募集しています。",
     "We are looking for volunteers to help elderly households clear snow.", NULL, 0},
    {"event", "健康ウォーキング教室", "Health walking class",
     "毎週水曜日 午前10時 鶴ヶ城公園にて。", "Every Wednesday at 10:00 in Tsurugajo Park.", NULL,
     0},
};

/* demo_town.c: the synthetic town with its demo sign-ins (no header: this is the one caller). */

static int count_row(const struct store_row *row, void *ctx)
{
    *(long long *)ctx = (long long)store_row_int(row, 0);
    return 0;
}

int cli_demo(int argc, char **argv)
{
    struct config cfg;
    int rc = cli_prepare(&cfg, CONFIG_CMD_DEMO, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    struct store *store = cli_open_store(&cfg);
    if (store == NULL)
        return 1;
    struct err e = {0};
    long long existing = 0;
    rc = store_query(store, "SELECT COUNT(*) FROM notice", NULL, 0, count_row, &existing, &e);
    if (rc == 0 && existing > 0) {
        printf("%s: already has %lld notices; nothing seeded\n", cfg.data_dir, existing);
    } else {
        size_t n = sizeof demo_notices / sizeof demo_notices[0];
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char id[IDS_LEN + 1];
            rc = notices_insert(store, &demo_notices[i], id, &e);
        }
        if (rc == 0)
            printf("%s: seeded %zu notices\n", cfg.data_dir, n);
    }
    if (rc != 0)
        log_error("demo seeding failed: %s", e.msg);
    else
        rc = cli_demo_town_seed(store, &cfg);
    if (rc == 0)
        rc = cli_demo_consent_seed(store, &cfg);
    if (rc == 0 && cfg.demo_journey)
        rc = cli_demo_journey_seed(store, &cfg);
    store_close(store);
    return rc == 0 ? 0 : 1;
}
