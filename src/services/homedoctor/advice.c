/* advice.c - the advice catalogue (short, non-diagnostic lifestyle items in Japanese and
 * English, numbers from JSH2019's lifestyle modifications) and the table that chooses advice
 * from the findings' triggers. */
#include "services/homedoctor/internal.h"

#define JSH_LIFESTYLE                                                                              \
    "JSH2019 lifestyle modifications (Umemura S et al., Hypertens Res 2019;42:1235-1481, "         \
    "chapter 4)"
#define JSH_HOME_MEASURE                                                                           \
    "JSH2019 home BP measurement (Umemura S et al., Hypertens Res 2019;42:1235-1481, chapter 2)"

static const struct homedoctor_advice CATALOGUE[HOMEDOCTOR_ADV_COUNT] = {
    {HOMEDOCTOR_ADV_SALT, "salt",
     "食塩は1日6g未満を目標にしましょう。汁物やつけもの、しょうゆを控えめにし、食品表示の"
     "「食塩相当量」を確かめると続けやすくなります。",
     "Aim for less than 6 g of salt a day: go easy on soups, pickles and soy sauce, and check the "
     "salt amount on food labels.",
     JSH_LIFESTYLE},
    {HOMEDOCTOR_ADV_DIET, "diet",
     "野菜・果物・魚を多めに、飽和脂肪(脂身やバター)を控えめにした食事(DASH食に近い食事)を"
     "心がけましょう。腎臓病でカリウム制限のある方は、野菜や果物を増やす前に医師にご相談ください。",
     "Eat more vegetables, fruit and fish and less saturated fat (fatty meat, butter), a DASH-like "
     "diet. If you have kidney disease with a potassium limit, ask your doctor before eating more "
     "fruit and vegetables.",
     JSH_LIFESTYLE},
    {HOMEDOCTOR_ADV_EXERCISE, "exercise",
     "早歩きなどの軽い有酸素運動を1日30分以上、または週180分以上を目安に。雪の日は室内での"
     "ストレッチや足踏みでもかまいません。心臓の病気がある方は始める前に医師にご相談ください。",
     "Aim for light aerobic exercise such as brisk walking for 30 minutes or more a day, or 180 "
     "minutes a week. On snowy days, indoor stretches and marching in place count. If you have "
     "heart disease, ask your doctor before you start.",
     JSH_LIFESTYLE},
    {HOMEDOCTOR_ADV_WEIGHT, "weight",
     "適正体重(BMI 25未満)を保ちましょう。体重を定期的に量ると変化に気づきやすくなります。",
     "Keep a healthy weight (BMI below 25); weighing yourself regularly helps you notice changes.",
     JSH_LIFESTYLE},
    {HOMEDOCTOR_ADV_ALCOHOL, "alcohol",
     "お酒は、男性はエタノール1日20〜30mL以下、女性は10〜20mL以下が目安です(ビール500mL"
     "缶1本でおよそ25mL)。",
     "If you drink, keep to 20-30 mL of ethanol a day for men and 10-20 mL for women (a 500 mL "
     "can of 5% beer holds about 25 mL).",
     JSH_LIFESTYLE},
    {HOMEDOCTOR_ADV_SMOKING, "smoking",
     "禁煙はいつ始めても効果があります。禁煙の支援について、かかりつけ医にご相談ください。",
     "Stopping smoking helps at any age; ask your family doctor about support to quit.",
     JSH_LIFESTYLE},
    {HOMEDOCTOR_ADV_MEASURE_ROUTINE, "measure_routine",
     "毎日同じ時間に測りましょう。朝は起床後1時間以内・排尿後・朝食と服薬の前に、夜は寝る前に、"
     "座って1〜2分安静にしてから測ります。",
     "Measure at the same times each day: in the morning within an hour of waking, after "
     "urinating, before breakfast and medicine; and in the evening before bed; seated, after 1-2 "
     "minutes of rest.",
     JSH_HOME_MEASURE},
    {HOMEDOCTOR_ADV_UPPER_ARM_CUFF, "upper_arm_cuff",
     "ガイドラインの家庭血圧の基準は上腕式血圧計での測定を前提としています。可能であれば"
     "上腕式の血圧計で測りましょう。",
     "The guideline's home values assume an upper-arm cuff; if you can, measure with an upper-arm "
     "monitor.",
     JSH_HOME_MEASURE},
    {HOMEDOCTOR_ADV_MEDICATION_ROUTINE, "medication_routine",
     "お薬は毎日同じ時間に。ピルケースを目につく場所(食卓や洗面所)に置くと忘れにくくなります。"
     "飲み忘れた分をまとめて飲む前に、薬剤師か医師に確認してください。",
     "Take your medicine at the same times each day; keeping the pill box where you see it (the "
     "table, by the sink) helps. Ask your pharmacist or doctor before taking a missed dose late "
     "or doubling up.",
     ""},
    {HOMEDOCTOR_ADV_TALK_TO_DOCTOR, "talk_to_doctor",
     "次の受診の際に、この記録をかかりつけ医に見てもらいましょう。高い状態が続くときは早めに"
     "ご相談ください。",
     "Show these readings to your family doctor at your next visit, or sooner if they stay high.",
     ""},
};

#define A(x) (1u << HOMEDOCTOR_ADV_##x)

/* The selection table: which advice each finding trigger calls for. */
static const unsigned TABLE[HOMEDOCTOR_TRIG_COUNT] = {
    [HOMEDOCTOR_TRIG_BP_HIGH_NORMAL] = A(SALT) | A(DIET) | A(EXERCISE) | A(MEASURE_ROUTINE),
    [HOMEDOCTOR_TRIG_BP_ELEVATED_UP] = A(SALT) | A(DIET) | A(EXERCISE) | A(WEIGHT) | A(ALCOHOL) |
                                       A(MEASURE_ROUTINE) | A(TALK_TO_DOCTOR),
    [HOMEDOCTOR_TRIG_BP_RISE] = A(SALT) | A(MEASURE_ROUTINE) | A(TALK_TO_DOCTOR),
    [HOMEDOCTOR_TRIG_READINGS_MISSING] = A(MEASURE_ROUTINE),
    [HOMEDOCTOR_TRIG_WRIST_DEVICE] = A(UPPER_ARM_CUFF),
    [HOMEDOCTOR_TRIG_RISK_SBP] = A(SALT) | A(EXERCISE),
    [HOMEDOCTOR_TRIG_RISK_SMOKING] = A(SMOKING),
    [HOMEDOCTOR_TRIG_RISK_NO_EXERCISE] = A(EXERCISE),
    [HOMEDOCTOR_TRIG_RISK_LDL] = A(DIET) | A(WEIGHT),
    [HOMEDOCTOR_TRIG_RISK_HDL] = A(EXERCISE) | A(WEIGHT),
    [HOMEDOCTOR_TRIG_MISSED_DOSES] = A(MEDICATION_ROUTINE),
};

#undef A

const struct homedoctor_advice *homedoctor_advice_get(enum homedoctor_advice_id id)
{
    return (unsigned)id < HOMEDOCTOR_ADV_COUNT ? &CATALOGUE[id] : NULL;
}

unsigned homedoctor_advice_for_trigger(enum homedoctor_trigger t)
{
    return (unsigned)t < HOMEDOCTOR_TRIG_COUNT ? TABLE[t] : 0;
}

unsigned homedoctor_advice_select(const struct homedoctor_finding *const *f, size_t n)
{
    unsigned out = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i] == NULL)
            continue;
        for (int t = 0; t < HOMEDOCTOR_TRIG_COUNT; t++)
            if (f[i]->triggers & (1u << t))
                out |= TABLE[t];
    }
    return out;
}
