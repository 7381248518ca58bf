/* authorize.c - GET and POST /oauth/authorize: the request checked in the order RFC 6749 4.1.2.1
 * asks (client and redirect URI first: errors about them are shown here and never redirected;
 * every later error goes back to the client with state and iss), the hop to /signin, the
 * approval page, and the approval that stores a grant with its single-use code. */
#include "identity/authorize.h"

#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "http/form.h"
#include "http/html.h"
#include "identity/client.h"
#include "identity/grant.h"
#include "identity/org.h"
#include "identity/person.h"
#include "identity/pkce.h"
#include "identity/scope.h"
#include "identity/session.h"
#include "identity/token.h"

#define STATE_MAX  512 /* bytes of the client's state */
#define ACT_AS_MAX (ID_LIST_MAX * 2 + 1)

/* The parameters of an authorization request, in the order they are checked and echoed. */
static const char *const request_params[] = {"client_id",
                                             "redirect_uri",
                                             "response_type",
                                             "scope",
                                             "state",
                                             "code_challenge",
                                             "code_challenge_method",
                                             "nonce",
                                             "aud",
                                             "prompt",
                                             NULL};

/* Where the parameters come from: the query of GET, or the approval form of POST. */
struct source {
    struct http_request *req;
    const struct http_form *form; /* NULL: the query */
};

static const char *param(const struct source *src, const char *name)
{
    if (src->form != NULL)
        return http_form_get(src->form, name);
    const char *v = http_query(src->req, name);
    return v != NULL && v[0] != '\0' ? v : NULL; /* RFC 6749 3.1: empty means omitted */
}

/* A checked request. */
struct authz {
    struct id_client client;
    const char *redirect_uri, *state, *scope_text, *challenge, *nonce, *audience, *prompt;
    struct id_scope_set *scope;
    int patient_scopes; /* patient/ scopes, launch/patient, or no clinical scope at all */
    int user_scopes;    /* user/ scopes or cityos.admin: a practitioner's context */
};

/* ---- answers ---- */

/* A page about a request that cannot go back to the client (unknown client, bad redirect). */
static int error_page(struct http_request *req, int status, const char *ja, const char *en)
{
    enum html_lang lang = html_lang_of(req);
    struct html_buf b;
    html_init(&b, req->arena);
    html_begin(&b, lang, HTML_T(lang, "認可できません", "Cannot authorise"));
    html_raw(&b, "<h1>");
    html_text(&b, HTML_T(lang, "このリクエストは受け付けられません", "This request is refused"));
    html_raw(&b, "</h1><p class=\"error\">");
    html_text(&b, HTML_T(lang, ja, en));
    html_raw(&b, "</p><p>");
    html_text(&b, HTML_T(lang, "アプリの提供者にお問い合わせください。",
                         "Please tell the app's provider."));
    html_raw(&b, "</p>");
    html_end(&b);
    return html_respond(req, status, &b);
}

/* 303 to the client's redirect URI with the parameters (name, value pairs, NULL-terminated;
 * NULL values skipped), state and iss (RFC 9207) appended. */
static int redirect_back(struct http_request *req, const struct authz *az, const char *issuer,
                         const char *const *pairs)
{
    char *url = arena_strdup(req->arena, az->redirect_uri);
    char sep = strchr(az->redirect_uri, '?') != NULL ? '&' : '?';
    const char *all[16];
    size_t k = 0;
    for (; pairs[k] != NULL && k < 10; k += 2) {
        all[k] = pairs[k];
        all[k + 1] = pairs[k + 1];
    }
    const char *tail[] = {"state", az->state, "iss", issuer};
    for (size_t i = 0; i < 4; i++)
        all[k++] = tail[i];
    for (size_t i = 0; i < k && url != NULL; i += 2) {
        if (all[i + 1] == NULL)
            continue;
        const char *v = http_form_encode(all[i + 1], req->arena);
        url = v != NULL ? arena_printf(req->arena, "%s%c%s=%s", url, sep, all[i], v) : NULL;
        sep = '&';
    }
    if (url == NULL)
        return -1;
    http_set_header(req, "Location", url);
    http_set_header(req, "Cache-Control", "no-store");
    http_set_header(req, "Referrer-Policy", "no-referrer");
    http_respond(req, 303, NULL, "", 0);
    return 0;
}

static int redirect_error(struct http_request *req, const struct authz *az, const char *issuer,
                          const char *code, const char *description)
{
    log_debug("authorize %s: %s", code, description);
    return redirect_back(
        req, az, issuer,
        (const char *const[]){"error", code, "error_description", description, NULL});
}

/* ---- checking the request ---- */

enum check { CHECK_OK, CHECK_ANSWERED, CHECK_NOMEM };

/* What a check returns once it has set the answer (rc of error_page or redirect_error). */
static enum check answered(int rc)
{
    return rc < 0 ? CHECK_NOMEM : CHECK_ANSWERED;
}

static int printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* The client and its redirect URI: failures here are shown, not redirected. */
static enum check check_client(const struct source *src, struct store *s, struct authz *az)
{
    struct http_request *req = src->req;
    const char *client_id = param(src, "client_id");
    const char *redirect_uri = param(src, "redirect_uri");
    if (client_id == NULL)
        return answered(error_page(req, 400, "client_id がありません。", "client_id is missing."));
    struct err e = {0};
    int rc = id_client_get(s, client_id, &az->client, req->arena, &e);
    if (rc == ERR_NOMEM)
        return CHECK_NOMEM;
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID)
        return answered(error_page(req, 400, "このアプリ（client_id）は登録されていません。",
                                   "This app (client_id) is not registered."));
    if (rc != 0)
        return answered(
            error_page(req, 503, "一時的に利用できません。", "Temporarily unavailable."));
    if (redirect_uri == NULL)
        return answered(
            error_page(req, 400, "redirect_uri がありません。", "redirect_uri is missing."));
    if (!id_client_redirect_registered(&az->client, redirect_uri))
        return answered(error_page(req, 400, "redirect_uri がこのアプリの登録と一致しません。",
                                   "redirect_uri does not match the app's registration exactly."));
    az->redirect_uri = redirect_uri;
    return CHECK_OK;
}

/* Is aud (SMART's aud, the resource the app will call) this server? */
static int audience_is_ours(const char *aud, const char *issuer)
{
    size_t n = strlen(issuer);
    return strcmp(aud, ID_TOKEN_AUD_DEFAULT) == 0 || strcmp(aud, issuer) == 0 ||
           (strncmp(aud, issuer, n) == 0 && strcmp(aud + n, "/fhir") == 0);
}

/* The scope: parsed, only person-facing scopes, within the client's registration. */
static enum check check_scope(struct http_request *req, struct authz *az, const char *issuer,
                              const char *scope)
{
    struct id_scope_set *allowed = arena_alloc(req->arena, sizeof *allowed);
    az->scope = arena_alloc(req->arena, sizeof *az->scope);
    char *text = arena_alloc(req->arena, 2 * ID_SCOPE_TEXT_MAX + 1);
    if (allowed == NULL || az->scope == NULL || text == NULL)
        return CHECK_NOMEM;
    struct err e = {0};
    if (scope == NULL)
        return answered(redirect_error(req, az, issuer, "invalid_scope", "scope is required"));
    if (id_scope_parse(scope, az->scope, &e) != 0)
        return answered(redirect_error(req, az, issuer, "invalid_scope", e.msg));
    int clinical = 0;
    for (size_t i = 0; i < az->scope->n; i++) {
        const struct id_scope *sc = &az->scope->items[i];
        if (sc->kind == ID_SCOPE_CLINICAL) {
            clinical = 1;
            if (sc->clinical.context == ID_SCOPE_SYSTEM)
                return answered(
                    redirect_error(req, az, issuer, "invalid_scope",
                                   "system/ scopes belong to the client_credentials grant"));
            if (sc->clinical.context == ID_SCOPE_PATIENT)
                az->patient_scopes = 1;
            else
                az->user_scopes = 1;
        } else if (sc->kind == ID_SCOPE_LAUNCH_PATIENT) {
            az->patient_scopes = 1;
        } else if (sc->kind == ID_SCOPE_LAUNCH || sc->kind == ID_SCOPE_LAUNCH_ENCOUNTER) {
            return redirect_error(req, az, issuer, "invalid_scope",
                                  "EHR launch is not supported; use launch/patient"),
                   CHECK_ANSWERED;
        }
    }
    if (!clinical)
        az->patient_scopes = 1;
    if (id_scope_find(az->scope, ID_SCOPE_OTHER, "cityos.admin") != NULL)
        az->user_scopes = 1;
    if (id_scope_parse(az->client.scopes, allowed, &e) != 0)
        return answered(redirect_error(req, az, issuer, "server_error",
                                       "the client's registered scopes do not parse"));
    if (!id_scope_subset(az->scope, allowed, NULL))
        return answered(
            redirect_error(req, az, issuer, "invalid_scope",
                           "a requested scope is beyond what the app is registered for"));
    if (id_scope_format(az->scope, ID_SCOPE_FORM_KEEP_V1, text, 2 * ID_SCOPE_TEXT_MAX + 1) != 0)
        return answered(redirect_error(req, az, issuer, "invalid_scope", "the scope is too long"));
    az->scope_text = text;
    return CHECK_OK;
}

static enum check check_request(const struct source *src, struct store *s, const char *issuer,
                                struct authz *az)
{
    struct http_request *req = src->req;
    memset(az, 0, sizeof *az);
    /* a form cannot repeat a name (http_form_parse refuses it); a query can */
    const char *repeated = src->form == NULL ? http_query_repeated(req, request_params) : NULL;
    if (repeated != NULL &&
        (strcmp(repeated, "client_id") == 0 || strcmp(repeated, "redirect_uri") == 0))
        return answered(error_page(req, 400, "同じパラメータが繰り返されています。",
                                   "A parameter is repeated."));
    enum check c = check_client(src, s, az);
    if (c != CHECK_OK)
        return c;
    const char *state = param(src, "state");
    az->state = state != NULL && printable(state, STATE_MAX) ? state : NULL;
    if (repeated != NULL)
        return answered(
            redirect_error(req, az, issuer, "invalid_request", "a parameter is repeated"));
    const char *response_type = param(src, "response_type");
    const char *challenge = param(src, "code_challenge");
    const char *method = param(src, "code_challenge_method");
    const char *nonce = param(src, "nonce");
    const char *aud = param(src, "aud");
    if (response_type == NULL)
        return answered(
            redirect_error(req, az, issuer, "invalid_request", "response_type is required"));
    if (strcmp(response_type, "code") != 0)
        return answered(redirect_error(req, az, issuer, "unsupported_response_type",
                                       "only response_type=code is supported"));
    if (!(az->client.grant_types & ID_GRANT_AUTHORIZATION_CODE))
        return answered(
            redirect_error(req, az, issuer, "unauthorized_client",
                           "the app is not registered for the authorization code flow"));
    if (state == NULL || az->state == NULL)
        return answered(redirect_error(req, az, issuer, "invalid_request",
                                       "state is required: 1 to 512 printable ASCII characters"));
    if (challenge == NULL)
        return answered(redirect_error(req, az, issuer, "invalid_request",
                                       "code_challenge is required (PKCE with S256)"));
    if (method == NULL || !id_pkce_method_allowed(method))
        return redirect_error(req, az, issuer, "invalid_request",
                              "code_challenge_method must be S256; plain is refused"),
               CHECK_ANSWERED;
    if (!id_pkce_challenge_valid(challenge))
        return answered(redirect_error(req, az, issuer, "invalid_request",
                                       "code_challenge must be 43 base64url characters"));
    if (nonce != NULL && !printable(nonce, ID_NONCE_MAX))
        return answered(redirect_error(req, az, issuer, "invalid_request",
                                       "nonce must be 1 to 255 printable ASCII characters"));
    if (aud != NULL && !audience_is_ours(aud, issuer))
        return answered(redirect_error(req, az, issuer, "invalid_request",
                                       "aud names another server than this one"));
    c = check_scope(req, az, issuer, param(src, "scope"));
    if (c != CHECK_OK)
        return c;
    az->challenge = challenge;
    az->nonce = nonce;
    az->audience = aud != NULL ? aud : ID_TOKEN_AUD_DEFAULT;
    az->prompt = param(src, "prompt");
    return CHECK_OK;
}

/* ---- whom the person may act for ---- */

enum act_kind { ACT_SELF, ACT_FOR, ACT_ROLE };

struct act_option {
    enum act_kind kind;
    const char *value;  /* "self", "for:<person>", "role:<role id>" */
    const char *person; /* ACT_FOR: the subject */
    const char *org_id; /* ACT_ROLE */
    const char *role;   /* ACT_ROLE: the role's name */
    const char *label_ja, *label_en;
};

static const char *role_label(const char *role, enum html_lang lang)
{
    static const char *const names[][3] = {
        {"doctor", "医師", "doctor"},
        {"nurse", "看護師", "nurse"},
        {"pharmacist", "薬剤師", "pharmacist"},
        {"care_worker", "介護職員", "care worker"},
        {"dispatcher", "配車係", "dispatcher"},
        {"clerk", "事務職員", "clerk"},
        {"city_administrator", "市の管理者", "city administrator"},
        {"auditor", "監査担当", "auditor"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], role) == 0)
            return lang == HTML_LANG_JA ? names[i][1] : names[i][2];
    return role;
}

/* The options open to person_id for this request: themselves; with patient scopes, everyone a
 * valid family link lets them act for; with user scopes, each active practitioner role. */
static int act_options(struct http_request *req, struct store *s, const char *person_id,
                       const struct authz *az, struct act_option **out, size_t *n)
{
    struct arena *a = req->arena;
    struct err e = {0};
    struct id_family_link *links = NULL;
    struct id_role *roles = NULL;
    size_t nlinks = 0, nroles = 0;
    if (az->patient_scopes &&
        id_family_link_list_for_delegate(s, person_id, clock_now_ms(), a, &links, &nlinks, &e) != 0)
        return -1;
    if (az->user_scopes && id_role_list_for_person(s, person_id, a, &roles, &nroles, &e) != 0)
        return -1;
    struct act_option *o = arena_zalloc(a, (1 + nlinks + nroles) * sizeof *o);
    if (o == NULL)
        return -1;
    size_t k = 0;
    o[k++] = (struct act_option){ACT_SELF, "self", NULL, NULL, NULL, "本人として", "Myself"};
    for (size_t i = 0; i < nlinks; i++) {
        struct id_person p;
        if (id_person_get(s, links[i].subject_id, &p, a, &e) != 0)
            continue;
        const char *name = arena_printf(a, "%s %s", p.family_name_kanji, p.given_name_kanji);
        o[k] = (struct act_option){ACT_FOR,
                                   arena_printf(a, "for:%s", links[i].subject_id),
                                   arena_strdup(a, links[i].subject_id),
                                   NULL,
                                   NULL,
                                   arena_printf(a, "%s さんの代理として", name),
                                   arena_printf(a, "On behalf of %s", name)};
        if (o[k].value == NULL || o[k].label_ja == NULL || o[k].label_en == NULL)
            return -1;
        k++;
    }
    for (size_t i = 0; i < nroles; i++) {
        struct id_org org;
        if (!roles[i].active || id_org_get(s, roles[i].org_id, &org, a, &e) != 0)
            continue;
        const char *role = id_role_name(roles[i].role);
        o[k] = (struct act_option){
            ACT_ROLE,
            arena_printf(a, "role:%s", roles[i].id),
            NULL,
            arena_strdup(a, roles[i].org_id),
            role,
            arena_printf(a, "%s の%sとして", org.name_ja, role_label(role, HTML_LANG_JA)),
            arena_printf(a, "As %s at %s", role_label(role, HTML_LANG_EN),
                         org.name_en != NULL ? org.name_en : org.name_ja)};
        if (o[k].value == NULL || o[k].label_ja == NULL || o[k].label_en == NULL)
            return -1;
        k++;
    }
    *out = o;
    *n = k;
    return 0;
}

/* ---- the approval page ---- */

static void describe_scope(struct html_buf *b, const struct id_scope *sc, enum html_lang lang)
{
    static const char *const perm_ja[] = {"作成", "閲覧", "更新", "削除", "検索"};
    static const char *const perm_en[] = {"create", "read", "update", "delete", "search"};
    switch (sc->kind) {
    case ID_SCOPE_OPENID:
        html_text(
            b, HTML_T(lang, "あなたが誰か（地域ID）を知る", "Know who you are (your regional ID)"));
        return;
    case ID_SCOPE_PROFILE:
        html_text(b,
                  HTML_T(lang, "氏名・生年月日・性別を見る", "See your name, birth date and sex"));
        return;
    case ID_SCOPE_FHIRUSER:
        html_text(b, HTML_T(lang, "あなたの健康記録上の身元を知る",
                            "Know your identity in the health record"));
        return;
    case ID_SCOPE_LAUNCH_PATIENT:
        html_text(b, HTML_T(lang, "下で選ぶ方の記録を扱う",
                            "Work with the record of the person you choose below"));
        return;
    case ID_SCOPE_OFFLINE_ACCESS:
        html_text(b, HTML_T(lang, "あなたが取り消すまで、アプリを使っていない間も接続を続ける",
                            "Stay connected while you are not using the app, until you revoke it"));
        return;
    case ID_SCOPE_ONLINE_ACCESS:
        html_text(b, HTML_T(lang, "アプリを使っている間、接続を続ける",
                            "Stay connected while you use the app"));
        return;
    case ID_SCOPE_CLINICAL:
        break;
    default:
        html_text(b, HTML_T(lang, "その他の権限: ", "Other permission: "));
        html_text(b, sc->text);
        return;
    }
    const struct id_scope_clinical *c = &sc->clinical;
    const char *what =
        strcmp(c->resource, "*") == 0 ? HTML_T(lang, "すべての種類", "every kind") : c->resource;
    html_text(b, c->context == ID_SCOPE_PATIENT
                     ? HTML_T(lang, "下で選ぶ方の記録 — ", "Records of the person chosen below - ")
                     : HTML_T(lang, "あなたが閲覧できる記録 — ", "Records you may see - "));
    html_text(b, what);
    html_text(b, ": ");
    int first = 1;
    for (int i = 0; i < 5; i++) {
        if (!(c->perms & (1u << i)))
            continue;
        if (!first)
            html_text(b, lang == HTML_LANG_JA ? "・" : ", ");
        html_text(b, lang == HTML_LANG_JA ? perm_ja[i] : perm_en[i]);
        first = 0;
    }
    for (size_t i = 0; i < c->nparams; i++) {
        html_text(b, HTML_T(lang, "（条件: ", " (only "));
        html_text(b, c->params[i].name);
        html_text(b, "=");
        html_text(b, c->params[i].value);
        html_text(b, HTML_T(lang, "）", ")"));
    }
}

static void hidden(struct html_buf *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    html_raw(b, "<input type=\"hidden\" name=\"");
    html_text(b, name);
    html_raw(b, "\" value=\"");
    html_text(b, value);
    html_raw(b, "\">");
}

static int approval_page(struct http_request *req, struct store *s, const struct authz *az,
                         const struct id_session *ss)
{
    enum html_lang lang = html_lang_of(req);
    struct act_option *opts = NULL;
    size_t nopts = 0;
    struct id_person me;
    struct err e = {0};
    if (id_person_get(s, ss->person_id, &me, req->arena, &e) != 0 ||
        act_options(req, s, ss->person_id, az, &opts, &nopts) != 0)
        return error_page(req, 503, "一時的に利用できません。", "Temporarily unavailable.");
    struct html_buf b;
    html_init(&b, req->arena);
    html_begin(&b, lang, HTML_T(lang, "アクセスの許可", "Allow access"));
    html_raw(&b, "<h1>");
    html_text(&b, az->client.name);
    html_text(&b, HTML_T(lang, " が次のことを求めています", " asks to"));
    html_raw(&b, "</h1><ul class=\"scopes\">");
    for (size_t i = 0; i < az->scope->n; i++) {
        html_raw(&b, "<li>");
        describe_scope(&b, &az->scope->items[i], lang);
        html_raw(&b, "</li>");
    }
    html_raw(&b, "</ul><p>");
    html_text(&b, HTML_T(lang, "サインイン中: ", "Signed in as: "));
    html_text(&b, me.family_name_kanji);
    html_text(&b, " ");
    html_text(&b, me.given_name_kanji);
    html_raw(&b, "</p><p>");
    html_text(&b, HTML_T(lang, "許可すると次の場所に戻ります: ", "You will return to: "));
    html_text(&b, az->redirect_uri);
    html_raw(&b, "</p><form method=\"post\" action=\"/oauth/authorize?lang=");
    html_raw(&b, html_lang_code(lang));
    html_raw(&b, "\">");
    if (nopts > 1) {
        html_raw(&b, "<fieldset><legend>");
        html_text(&b, HTML_T(lang, "だれとして許可しますか", "Allow it acting as"));
        html_raw(&b, "</legend>");
        for (size_t i = 0; i < nopts; i++) {
            html_raw(&b, "<label><input type=\"radio\" name=\"act_as\" value=\"");
            html_text(&b, opts[i].value);
            html_raw(&b, i == 0 ? "\" checked> " : "\"> ");
            html_text(&b, HTML_T(lang, opts[i].label_ja, opts[i].label_en));
            html_raw(&b, "</label>");
        }
        html_raw(&b, "</fieldset>");
    } else {
        hidden(&b, "act_as", "self");
    }
    hidden(&b, "csrf", ss->csrf);
    for (const char *const *p = request_params; *p != NULL; p++)
        hidden(&b, *p,
               strcmp(*p, "scope") == 0                   ? az->scope_text
               : strcmp(*p, "state") == 0                 ? az->state
               : strcmp(*p, "redirect_uri") == 0          ? az->redirect_uri
               : strcmp(*p, "client_id") == 0             ? az->client.id
               : strcmp(*p, "response_type") == 0         ? "code"
               : strcmp(*p, "code_challenge") == 0        ? az->challenge
               : strcmp(*p, "code_challenge_method") == 0 ? "S256"
               : strcmp(*p, "nonce") == 0                 ? az->nonce
               : strcmp(*p, "aud") == 0 && strcmp(az->audience, ID_TOKEN_AUD_DEFAULT) != 0
                   ? az->audience
                   : NULL);
    html_raw(&b, "<button type=\"submit\" name=\"decision\" value=\"approve\">");
    html_text(&b, HTML_T(lang, "許可する", "Allow"));
    html_raw(&b, "</button><button type=\"submit\" name=\"decision\" value=\"deny\">");
    html_text(&b, HTML_T(lang, "許可しない", "Deny"));
    html_raw(&b, "</button></form><p>");
    html_text(&b, HTML_T(lang, "許可はいつでもポータルで取り消せます。",
                         "You can withdraw this at any time in the portal."));
    html_raw(&b, "</p>");
    html_end(&b);
    return html_respond(req, 200, &b);
}

/* ---- GET /oauth/authorize ---- */

/* "/signin?return_to=" + the request rebuilt from its checked parameters. */
static int send_to_signin(struct http_request *req, const struct source *src)
{
    char *path = arena_strdup(req->arena, "/oauth/authorize");
    char sep = '?';
    for (const char *const *p = request_params; *p != NULL && path != NULL; p++) {
        const char *v = param(src, *p);
        if (v == NULL)
            continue;
        const char *enc = http_form_encode(v, req->arena);
        path = enc != NULL ? arena_printf(req->arena, "%s%c%s=%s", path, sep, *p, enc) : NULL;
        sep = '&';
    }
    const char *enc = path != NULL ? http_form_encode(path, req->arena) : NULL;
    const char *loc = enc != NULL ? arena_printf(req->arena, "/signin?return_to=%s", enc) : NULL;
    if (loc == NULL)
        return -1;
    http_set_header(req, "Location", loc);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond(req, 303, NULL, "", 0);
    return 0;
}

static int get_authorize(struct http_request *req, void *ctx)
{
    struct authorize_api *api = ctx;
    struct source src = {req, NULL};
    struct authz az;
    enum check c = check_request(&src, api->store, api->issuer, &az);
    if (c != CHECK_OK)
        return c == CHECK_NOMEM ? -1 : 0;
    struct id_session ss;
    struct err e = {0};
    int rc = id_session_current(req, api->store, &ss, &e);
    if (rc != 0 && rc != ERR_NOTFOUND)
        return error_page(req, 503, "一時的に利用できません。", "Temporarily unavailable.");
    if (az.prompt != NULL && strcmp(az.prompt, "none") == 0)
        /* no silent approvals: every grant is approved on the page */
        return redirect_error(req, &az, api->issuer,
                              rc == 0 ? "consent_required" : "login_required",
                              rc == 0 ? "this server asks the person to approve every app"
                                      : "the person is not signed in");
    if (rc == ERR_NOTFOUND)
        return send_to_signin(req, &src);
    return approval_page(req, api->store, &az, &ss);
}

/* ---- POST /oauth/authorize ---- */

struct approval {
    struct id_code_issue issue;
    char code[ID_TOKEN_LEN + 1];
    struct authz az;
    const char *issuer;
    struct http_request *req;
    int status;
};

static void approval_written(int status, const struct err *e, void *ctx)
{
    struct approval *w = ctx;
    w->status = status;
    if (status != 0)
        log_warn("grant not stored: %s", e != NULL ? e->msg : "");
    http_request_resume(w->req);
}

static int answer_approval(struct http_request *req, void *ctx)
{
    struct approval *w = ctx;
    if (w->status != 0)
        return redirect_error(req, &w->az, w->issuer, "temporarily_unavailable",
                              "the approval could not be stored");
    return redirect_back(req, &w->az, w->issuer, (const char *const[]){"code", w->code, NULL});
}

static int post_authorize(struct http_request *req, void *ctx)
{
    struct authorize_api *api = ctx;
    struct http_form *form = arena_zalloc(req->arena, sizeof *form);
    if (form == NULL)
        return -1;
    struct err e = {0};
    if (!http_content_type_is(req, "application/x-www-form-urlencoded") ||
        (req->body_len > 0 && memchr(req->body, 0, req->body_len) != NULL) ||
        http_form_parse(req->body != NULL ? req->body : "", req->body_len, req->arena, form, &e) !=
            0)
        return error_page(req, 400, "フォームの形式が正しくありません。", "The form is malformed.");
    struct id_session ss;
    int rc = id_session_current(req, api->store, &ss, &e);
    if (rc == ERR_NOTFOUND)
        return error_page(req, 401, "サインインが切れました。アプリからやり直してください。",
                          "Your sign-in has ended. Start again from the app.");
    if (rc != 0)
        return error_page(req, 503, "一時的に利用できません。", "Temporarily unavailable.");
    if (!id_session_csrf_valid(&ss, http_form_get(form, "csrf")))
        return error_page(req, 403, "このフォームは受け付けられません（CSRF）。",
                          "This form was refused (CSRF check).");
    struct approval *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL)
        return -1;
    struct source src = {req, form};
    enum check c = check_request(&src, api->store, api->issuer, &w->az);
    if (c != CHECK_OK)
        return c == CHECK_NOMEM ? -1 : 0;
    const char *decision = http_form_get(form, "decision");
    if (decision == NULL || strcmp(decision, "approve") != 0)
        return redirect_error(req, &w->az, api->issuer, "access_denied",
                              "the person did not allow it");
    struct act_option *opts = NULL;
    size_t nopts = 0;
    if (act_options(req, api->store, ss.person_id, &w->az, &opts, &nopts) != 0)
        return error_page(req, 503, "一時的に利用できません。", "Temporarily unavailable.");
    const char *act_as = http_form_get(form, "act_as");
    const struct act_option *chosen = NULL;
    for (size_t i = 0; i < nopts && act_as != NULL; i++)
        if (strcmp(opts[i].value, act_as) == 0)
            chosen = &opts[i];
    if (chosen == NULL)
        return error_page(req, 400, "選んだ立場は使えません。",
                          "The chosen way of acting is not open to you.");
    struct id_grant *g = &w->issue.grant;
    memcpy(g->client_id, w->az.client.id, sizeof g->client_id);
    memcpy(g->person_id, ss.person_id, sizeof g->person_id);
    g->acting_for = chosen->kind == ACT_FOR ? chosen->person : NULL;
    g->org_id = chosen->kind == ACT_ROLE ? chosen->org_id : NULL;
    g->role = chosen->kind == ACT_ROLE ? chosen->role : NULL;
    g->scope = w->az.scope_text;
    g->audience = w->az.audience;
    g->nonce = w->az.nonce;
    g->amr = arena_strdup(req->arena, ss.amr);
    g->auth_time_ms = ss.auth_time_ms;
    w->issue.redirect_uri = w->az.redirect_uri;
    memcpy(w->issue.challenge, w->az.challenge, sizeof w->issue.challenge);
    id_code_issue_prepare(&w->issue, clock_now_ms(), w->code);
    w->issuer = api->issuer;
    w->req = req;
    http_request_suspend(req, answer_approval, w);
    if (store_write_async(api->store, id_code_issue_fn, &w->issue, approval_written, w) != 0) {
        w->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

int authorize_api_register(struct http_router *r, struct authorize_api *api, struct store *s,
                           const char *issuer)
{
    api->store = s;
    api->issuer = issuer;
    int rc = http_router_add(r, "GET", "/oauth/authorize", get_authorize, api);
    return rc == 0 ? http_router_add(r, "POST", "/oauth/authorize", post_authorize, api) : rc;
}
