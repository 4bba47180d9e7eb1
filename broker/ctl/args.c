/*  args.c - the command line of "baton ctl" (see args.h).  */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config/values.h"
#include "ctl/args.h"

#define S_MAX_WORDS 8 //  positional words: "override add weight FN LIST" is five

const char baton__ctl_help[] =
    "usage: baton ctl [OPTIONS] COMMAND\n"
    "Steers a running gateway through its admin listener.\n"
    "\n"
    "commands:\n"
    "  status                 health, readiness, config in force, replicas by state, overrides\n"
    "  routes                 the route table in match order\n"
    "  topology               every function's replicas and their state\n"
    "  config                 the configuration in force: generation, sha256, reloads\n"
    "  reload                 re-read the gateway's config file (as SIGHUP does)\n"
    "  override list          the temporary overrides in force\n"
    "  override add KIND ...  add one (baton ctl override --help)\n"
    "  override rm ID         remove one\n"
    "  drain ID               route no new request to a replica (ID: instance or endpoint)\n"
    "  undrain ID             route to it again\n"
    "\n"
    "options (before or after the command):\n"
    "  --admin URL|HOST:PORT  the admin listener (default: $BATON_ADMIN, else gateway.admin\n"
    "                         of --config, else 127.0.0.1:9090)\n"
    "  -c, --config FILE      the gateway's config: its admin address and admin_token_file\n"
    "  --token-file FILE      the admin token, for changes (default: $BATON_ADMIN_TOKEN_FILE,\n"
    "                         else gateway.admin_token_file of --config)\n"
    "  --json                 print the gateway's JSON unchanged\n"
    "  --timeout DURATION     how long to wait for the gateway (default 5s)\n"
    "  -h, --help             this help, or a command's (baton ctl override --help)\n"
    "\n"
    "exit codes: 0 done; 1 the gateway refused (its reason is printed); 2 usage error;\n"
    "3 the gateway could not be reached or did not answer in time; 4 not authorized\n"
    "(give the admin token with --token-file). Docs: docs/operations.md\n";

static const char s_help_status[] =
    "usage: baton ctl [OPTIONS] status\n"
    "Shows the gateway's health and readiness, the config in force (generation, sha256,\n"
    "reloads), its replicas by state and how many overrides are in force. With --json: one\n"
    "object {\"health\",\"ready\",\"config\",\"topology\",\"overrides\"}, the last three as the\n"
    "gateway gave them (null when it has no such endpoint).\n"
    "Exit codes: baton ctl --help.\n";

static const char s_help_read[] =
    "usage: baton ctl [OPTIONS] routes|topology|config\n"
    "  routes     the route table in match order (GET /-/routes)\n"
    "  topology   every function's replicas: state, weight, outstanding (GET /-/topology)\n"
    "  config     the config in force: generation, sha256, loaded at, reloads, last error\n"
    "             (GET /-/config)\n"
    "A table by default; --json prints the gateway's JSON unchanged.\n"
    "Exit codes: baton ctl --help.\n";

static const char s_help_reload[] =
    "usage: baton ctl [OPTIONS] reload\n"
    "Makes the gateway re-read its config file with the checks of baton check (POST\n"
    "/-/reload). A valid file is in force at once; requests in flight finish on their route.\n"
    "An invalid file changes nothing: the error (file:line:column) is printed and ctl exits 1;\n"
    "so does a change that needs a restart (the keys are named). Needs the admin token.\n"
    "Exit codes: baton ctl --help.\n";

static const char s_help_override[] =
    "usage: baton ctl [OPTIONS] override list\n"
    "       baton ctl [OPTIONS] override add chain ROUTE FN[,FN...]      [--method M] [--ttl D]\n"
    "       baton ctl [OPTIONS] override add pin FUNCTION ID[,ID...]     [--ttl D]\n"
    "       baton ctl [OPTIONS] override add weight FUNCTION ID:W[,ID:W...] [--ttl D]\n"
    "       baton ctl [OPTIONS] override add fail ROUTE STATUS [--body TEXT]\n"
    "                           [--content-type TYPE] [--method M] [--ttl D]\n"
    "       baton ctl [OPTIONS] override rm ID\n"
    "Temporary changes that end on their own after --ttl (default 10m, at most 24h), on\n"
    "'override rm', and on every reload:\n"
    "  chain   the routes with pattern ROUTE (as written in the config; --method narrows\n"
    "          them) run the chain FN,FN... instead of theirs\n"
    "  pin     only the replicas ID,... (instance ids as topology shows them, or the\n"
    "          endpoint of a replica without one) get FUNCTION's requests\n"
    "  weight  replica ID gets requests in proportion to W (0..1000; default 100; 0: none)\n"
    "  fail    the routes with pattern ROUTE answer STATUS (400..599) at once, with TEXT\n"
    "          (default: the reason phrase) of TYPE (default text/plain; charset=utf-8)\n"
    "A newer override of the same kind and target replaces the older one. Adding and\n"
    "removing need the admin token. Exit codes: baton ctl --help.\n";

static const char s_help_drain[] =
    "usage: baton ctl [OPTIONS] drain|undrain ID\n"
    "drain: the replica ID (its instance id as topology shows it, or its endpoint) gets no\n"
    "new request; those it holds finish. It stays drained, heartbeats or not, until\n"
    "undrain. Needs the admin token. Exit codes: baton ctl --help.\n";

__attribute__ ((format (printf, 3, 4))) static int
s_usage (char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
    return -1;
}

//  The help text for a command word, or the general one.
static const char *
s_help_for (const char *word)
{
    if (!word)
        return baton__ctl_help;
    if (!strcmp (word, "status"))
        return s_help_status;
    if (!strcmp (word, "routes") || !strcmp (word, "topology") || !strcmp (word, "config"))
        return s_help_read;
    if (!strcmp (word, "reload"))
        return s_help_reload;
    if (!strcmp (word, "override"))
        return s_help_override;
    if (!strcmp (word, "drain") || !strcmp (word, "undrain"))
        return s_help_drain;
    return baton__ctl_help;
}

//  The value of option name at argv[*i]: "--name=V", or the next word.
//  Returns 1 and sets *out when argv[*i] is that option, 0 when it is not,
//  -1 when its value is missing.
static int
s_option (int argc, char **argv, int *i, const char *name, const char *shortname, const char **out)
{
    const char *arg = argv[*i];
    size_t n = strlen (name);
    if (!strncmp (arg, name, n) && arg[n] == '=') {
        *out = arg + n + 1;
        return 1;
    }
    if (strcmp (arg, name) && !(shortname && !strcmp (arg, shortname)))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *out = argv[++*i];
    return 1;
}

//  Checks the words of "override add KIND ..." and the options that go with
//  it. Returns 0 or -1.
static int
s_check_add (baton__ctl_args_t *a, const char *const *w, size_t n, char *err, size_t errlen)
{
    char why[256];
    if (n < 3)
        return s_usage (err, errlen,
                        "override add needs a kind: chain, pin, weight or fail "
                        "(baton ctl override --help)");
    a->kind = w[2];
    bool chain = !strcmp (a->kind, "chain"), pin = !strcmp (a->kind, "pin"),
         weight = !strcmp (a->kind, "weight"), fail = !strcmp (a->kind, "fail");
    if (!chain && !pin && !weight && !fail)
        return s_usage (err, errlen,
                        "override add: unknown kind \"%s\": chain, pin, weight or fail", a->kind);
    if (n != 5)
        return s_usage (err, errlen,
                        "override add %s: needs exactly two arguments "
                        "(baton ctl override --help)",
                        a->kind);
    a->target = w[3];
    a->value = w[4];
    if (!a->target[0] || !a->value[0])
        return s_usage (err, errlen, "override add %s: an argument is empty", a->kind);
    if ((chain || fail) && a->target[0] != '/')
        return s_usage (err, errlen,
                        "override add: ROUTE is a route's path as the config writes it "
                        "(\"/orders/{id}\"), not \"%s\"",
                        a->target);
    if ((pin || weight) &&
        baton_value_function_name (a->target, strlen (a->target), why, sizeof why) < 0)
        return s_usage (err, errlen, "override add: FUNCTION: %s", why);
    if (chain) {
        const char *p = a->value;
        while (true) {
            size_t k = strcspn (p, ",");
            if (baton_value_function_name (p, k, why, sizeof why) < 0)
                return s_usage (err, errlen, "override add chain: %s", why);
            if (!p[k])
                break;
            p += k + 1;
        }
    }
    if (fail) {
        const char *s = a->value;
        if (strlen (s) != 3 || s[0] < '4' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' ||
            s[2] > '9')
            return s_usage (err, errlen, "override add fail: STATUS is 400 to 599, not \"%s\"", s);
    }
    if (a->method && !chain && !fail)
        return s_usage (err, errlen, "override add %s: --method is for chain and fail", a->kind);
    if ((a->body || a->content_type) && !fail)
        return s_usage (err, errlen, "override add %s: --body and --content-type are for fail",
                        a->kind);
    if (a->method && baton_value_method (a->method, strlen (a->method), why, sizeof why) < 0)
        return s_usage (err, errlen, "--method: %s", why);
    uint64_t ms;
    if (a->ttl && baton_value_duration (a->ttl, strlen (a->ttl), 1, &ms, why, sizeof why) < 0)
        return s_usage (err, errlen, "--ttl: %s", why);
    return 0;
}

//  Gives the command its words (w[0] is the command). Returns 0 or -1.
static int
s_command (baton__ctl_args_t *a, const char *const *w, size_t n, char *err, size_t errlen)
{
    static const struct {
        const char *word;
        baton__ctl_cmd_t cmd;
    } simple[] = {{"status", BATON_CTL_STATUS},
                  {"routes", BATON_CTL_ROUTES},
                  {"topology", BATON_CTL_TOPOLOGY},
                  {"config", BATON_CTL_CONFIG},
                  {"reload", BATON_CTL_RELOAD}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (!strcmp (w[0], simple[i].word)) {
            if (n > 1)
                return s_usage (err, errlen, "%s takes no argument", w[0]);
            a->cmd = simple[i].cmd;
            return 0;
        }
    bool drain = !strcmp (w[0], "drain");
    if (drain || !strcmp (w[0], "undrain")) {
        if (n != 2 || !w[1][0])
            return s_usage (err, errlen,
                            "%s needs one replica: its instance id (baton ctl topology), or its "
                            "endpoint",
                            w[0]);
        a->cmd = drain ? BATON_CTL_DRAIN : BATON_CTL_UNDRAIN;
        a->id = w[1];
        return 0;
    }
    if (strcmp (w[0], "override"))
        return s_usage (err, errlen, "unknown command \"%s\" (baton ctl --help lists them)", w[0]);
    const char *sub = n > 1 ? w[1] : "";
    if (!strcmp (sub, "list")) {
        if (n > 2)
            return s_usage (err, errlen, "override list takes no argument");
        a->cmd = BATON_CTL_OVERRIDE_LIST;
        return 0;
    }
    if (!strcmp (sub, "rm")) {
        if (n != 3 || !w[2][0])
            return s_usage (err, errlen,
                            "override rm needs one id, as override list shows it (\"o3\")");
        a->cmd = BATON_CTL_OVERRIDE_RM;
        a->id = w[2];
        return 0;
    }
    if (!strcmp (sub, "add")) {
        a->cmd = BATON_CTL_OVERRIDE_ADD;
        return s_check_add (a, w, n, err, errlen);
    }
    return s_usage (err, errlen, "override: list, add or rm, not \"%s\"", sub);
}

int
baton__ctl_args_parse (int argc, char **argv, baton__ctl_args_t *a, char *err, size_t errlen)
{
    memset (a, 0, sizeof *a);
    a->timeout_ms = BATON_CTL_DEFAULT_TIMEOUT_MS;
    const char *words[S_MAX_WORDS], *timeout = NULL;
    size_t n = 0;
    bool help = false;
    static const struct {
        const char *name, *shortname;
        size_t offset;
    } options[] = {
        {"--admin", NULL, offsetof (baton__ctl_args_t, admin)},
        {"--config", "-c", offsetof (baton__ctl_args_t, config)},
        {"--token-file", NULL, offsetof (baton__ctl_args_t, token_file)},
        {"--ttl", NULL, offsetof (baton__ctl_args_t, ttl)},
        {"--method", NULL, offsetof (baton__ctl_args_t, method)},
        {"--body", NULL, offsetof (baton__ctl_args_t, body)},
        {"--content-type", NULL, offsetof (baton__ctl_args_t, content_type)},
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp (arg, "-h") || !strcmp (arg, "--help")) {
            help = true;
            continue;
        }
        if (!strcmp (arg, "--json")) {
            a->json = true;
            continue;
        }
        int rc = s_option (argc, argv, &i, "--timeout", NULL, &timeout);
        for (size_t k = 0; rc == 0 && k < sizeof options / sizeof options[0]; k++)
            rc = s_option (argc, argv, &i, options[k].name, options[k].shortname,
                           (const char **) ((char *) a + options[k].offset));
        if (rc < 0)
            return s_usage (err, errlen, "%s needs a value", arg);
        if (rc > 0)
            continue;
        if (arg[0] == '-' && arg[1])
            return s_usage (err, errlen, "unknown option \"%s\" (baton ctl --help)", arg);
        if (n == S_MAX_WORDS)
            return s_usage (err, errlen, "too many arguments at \"%s\"", arg);
        words[n++] = arg;
    }
    if (help) {
        a->help = s_help_for (n ? words[0] : NULL);
        return 0;
    }
    if (n == 0)
        return s_usage (err, errlen, "which command? (baton ctl --help lists them)");
    char why[256];
    if (timeout &&
        baton_value_duration (timeout, strlen (timeout), 1, &a->timeout_ms, why, sizeof why) < 0)
        return s_usage (err, errlen, "--timeout: %s", why);
    if (a->admin && !a->admin[0])
        return s_usage (err, errlen, "--admin is empty");
    if (s_command (a, words, n, err, errlen) < 0)
        return -1;
    if (a->cmd != BATON_CTL_OVERRIDE_ADD && (a->ttl || a->method || a->body || a->content_type))
        return s_usage (err, errlen,
                        "%s: --ttl, --method, --body and --content-type are for "
                        "override add",
                        words[0]);
    return 0;
}
