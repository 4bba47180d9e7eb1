/*  auth.c - the pipeline's first hop. A request goes on only with
 *  "Authorization: Bearer <token>" for a token in the list, and the later
 *  hops learn who sent it (meta "user"). Anything else is answered 401 at
 *  once: the rest of the route never sees it.
 *  The list is read at start from $AUTH_TOKENS_FILE, default tokens.txt in
 *  the working directory (baton dev runs functions in the config's folder):
 *  one "<token> <user>" per line, '#' starts a comment.  */
#include <baton/baton.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 1024
#define MAX_TOKEN  256
#define MAX_USER   64

typedef struct {
    char token[MAX_TOKEN + 1];
    size_t token_len;
    char user[MAX_USER + 1];
} token_t;

typedef struct {
    token_t *tokens;
    size_t count;
} tokens_t;

//  Reads the list; returns 0, or -1 after saying why on stderr.
static int
s_load (const char *path, tokens_t *list)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "auth: cannot read the token list %s: %s\n", path, strerror (errno));
        return -1;
    }
    list->tokens = calloc (MAX_TOKENS, sizeof (token_t));
    if (!list->tokens) {
        fclose (f);
        return -1;
    }
    char line[1024];
    size_t lineno = 0;
    int rc = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        char *hash = strchr (line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *token = strtok_r (line, " \t\r\n", &save);
        char *user = token ? strtok_r (NULL, " \t\r\n", &save) : NULL;
        if (!token)
            continue;
        if (!user || strtok_r (NULL, " \t\r\n", &save) || strlen (token) > MAX_TOKEN ||
            strlen (user) > MAX_USER || list->count == MAX_TOKENS) {
            fprintf (stderr, "auth: %s:%zu: expected \"<token> <user>\" (at most %d tokens)\n",
                     path, lineno, MAX_TOKENS);
            rc = -1;
            break;
        }
        token_t *t = &list->tokens[list->count++];
        snprintf (t->token, sizeof t->token, "%s", token);
        t->token_len = strlen (token);
        snprintf (t->user, sizeof t->user, "%s", user);
    }
    fclose (f);
    if (rc == 0 && list->count == 0) {
        fprintf (stderr, "auth: %s holds no token: every request would get 401\n", path);
        rc = -1;
    }
    return rc;
}

//  Compares in time that depends on the lengths only, not on where the
//  bytes differ.
static bool
s_same (const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char) (a[i] ^ b[i]);
    return diff == 0;
}

static int
s_unauthorized (baton_ctx_t *ctx, const char *detail)
{
    char body[256];
    snprintf (body, sizeof body,
              "{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
              "\"detail\":\"%s\",\"hop\":\"auth\"}\n",
              detail);
    baton_ctx_set_header (ctx, "Content-Type", "application/problem+json");
    baton_ctx_set_header (ctx, "WWW-Authenticate", "Bearer realm=\"baton\"");
    baton_ctx_set_body_str (ctx, body);
    return baton_ctx_reply (ctx, 401);
}

static int
s_auth (baton_ctx_t *ctx, void *arg)
{
    const tokens_t *list = (const tokens_t *) arg;
    baton_slice_t v;
    if (!baton_ctx_request_header_find (ctx, "authorization", &v))
        return s_unauthorized (ctx, "no Authorization header: send Authorization: Bearer <token>");
    //  "Bearer" (any case), spaces, the token, maybe trailing spaces.
    if (v.len < 7 || strncasecmp (v.ptr, "bearer", 6) != 0 || (v.ptr[6] != ' ' && v.ptr[6] != '\t'))
        return s_unauthorized (ctx, "the Authorization scheme is not Bearer");
    size_t start = 6, end = v.len;
    while (start < end && (v.ptr[start] == ' ' || v.ptr[start] == '\t'))
        start++;
    while (end > start && (v.ptr[end - 1] == ' ' || v.ptr[end - 1] == '\t'))
        end--;
    const token_t *match = NULL;
    for (size_t i = 0; i < list->count; i++)
        if (s_same (v.ptr + start, end - start, list->tokens[i].token, list->tokens[i].token_len))
            match = &list->tokens[i];
    if (!match)
        return s_unauthorized (ctx, "unknown token");
    baton_ctx_meta_set (ctx, "user", match->user, strlen (match->user));
    return baton_ctx_next (ctx);
}

int
main (void)
{
    const char *path = getenv ("AUTH_TOKENS_FILE");
    tokens_t list = {NULL, 0};
    if (s_load (path && *path ? path : "tokens.txt", &list) < 0) {
        free (list.tokens);
        return 1;
    }
    fprintf (stderr, "auth: %zu token%s loaded\n", list.count, list.count == 1 ? "" : "s");
    int rc = baton_main (s_auth, &list);
    free (list.tokens);
    return rc;
}
