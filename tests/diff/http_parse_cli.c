/*  http_parse_cli.c - reads raw connection bytes from each file named on the
 *  command line and prints what Baton's parser makes of them, one JSON line
 *  per file, in the format tests/diff/llhttp_verdicts.js prints for llhttp:
 *    {"case":"<file name>","ends":[<end offset of each accepted message>],
 *     "end":"clean|closed|incomplete|error","status":400,"reason":"..."}
 *  "closed": a message without keep-alive ended the conversation before the
 *  input did (the gateway closes; the rest is never parsed).  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/parser.h"

#define S_MAX_INPUT    (1u << 20)
#define S_MAX_MESSAGES 64

static char s_buf[S_MAX_INPUT];

static void
s_print_json_string (const char *s)
{
    putchar ('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\')
            printf ("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf ("\\u%04x", c);
        else
            putchar (c);
    }
    putchar ('"');
}

static int
s_run (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        perror (path);
        return -1;
    }
    size_t len = fread (s_buf, 1, sizeof s_buf, f);
    int too_big = !feof (f);
    fclose (f);
    if (too_big) {
        fprintf (stderr, "%s: larger than %u bytes\n", path, S_MAX_INPUT);
        return -1;
    }

    size_t ends[S_MAX_MESSAGES], count = 0, off = 0;
    const char *end = "clean";
    baton_http_error_t err = {0, NULL, 0};
    static baton_header_t headers[256];
    baton_http_parser_t parser;
    baton_http_parser_init (&parser, NULL);
    while (off < len && count < S_MAX_MESSAGES) {
        baton_http_request_t req;
        ptrdiff_t n = baton_http_parser_parse (&parser, s_buf + off, len - off, &req, headers,
                                               sizeof headers / sizeof headers[0], &err);
        if (n == BATON_HTTP_NEED_MORE) {
            end = "incomplete";
            break;
        }
        if (n == BATON_HTTP_ERROR) {
            end = "error";
            err.offset += off;
            break;
        }
        off += (size_t) n;
        if (req.body == BATON_HTTP_BODY_LENGTH) {
            if (req.content_length > len - off) {
                end = "incomplete";
                break;
            }
            off += req.content_length;
        } else if (req.body == BATON_HTTP_BODY_CHUNKED) {
            baton_http_chunked_t ch;
            baton_http_chunked_init (&ch, NULL);
            ptrdiff_t m = 0;
            while (off < len && !baton_http_chunked_done (&ch)) {
                baton_slice_t data;
                m = baton_http_chunked_decode (&ch, s_buf + off, len - off, &data, &err);
                if (m == BATON_HTTP_ERROR)
                    break;
                off += (size_t) m;
            }
            if (m == BATON_HTTP_ERROR) {
                end = "error";
                err.offset += off;
                break;
            }
            if (!baton_http_chunked_done (&ch)) {
                end = "incomplete";
                break;
            }
        }
        ends[count++] = off;
        if (!req.keep_alive) {
            if (off < len)
                end = "closed";
            break;
        }
    }

    if (count == S_MAX_MESSAGES && off < len && strcmp (end, "clean") == 0)
        end = "incomplete"; //  not examined further

    const char *name = strrchr (path, '/');
    printf ("{\"case\":");
    s_print_json_string (name ? name + 1 : path);
    printf (",\"ends\":[");
    for (size_t i = 0; i < count; i++)
        printf (i ? ",%zu" : "%zu", ends[i]);
    printf ("],\"end\":\"%s\"", end);
    if (strcmp (end, "error") == 0) {
        printf (",\"status\":%d,\"offset\":%zu,\"reason\":", err.status, err.offset);
        s_print_json_string (err.reason);
    }
    printf ("}\n");
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (s_run (argv[i]))
            rc = 1;
    return rc;
}
