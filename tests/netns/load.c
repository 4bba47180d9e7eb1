/*  load.c - the load client of the fault tests (tests/netns, bench/faults):
 *  CONNS keep-alive connections to 127.0.0.1:PORT, each sending GET PATH again
 *  as soon as its answer is in, for DURATION ms; then it waits for the answers
 *  still due (each at most TIMEOUT ms) and exits. Every request gets one line
 *  in OUT: "start_us end_us status marked instance", times in microseconds of
 *  CLOCK_REALTIME (so a script's `date +%s%6N` lines up), status 0 when no
 *  answer came (instance then says why: timeout, closed, connect, bad),
 *  marked 1 when an X-Replica header holds MARK, instance the X-Request-Id up
 *  to its '-' (the gateway that answered). With -r RATE, the connections
 *  together start at most RATE requests a second (each waits CONNS / RATE s
 *  between two starts): a load that leaves the machine room to breathe. The
 *  first answers that are not 2xx are written to stderr with their body (the
 *  gateway's problem detail), so a failed check can say which error it was.
 *      baton_load [-r RATE] PORT PATH CONNS DURATION_MS TIMEOUT_MS OUT [MARK]  */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 512
#define BUF_SIZE  65536

typedef enum { S_IDLE, S_CONNECTING, S_SENDING, S_READING } state_t;

typedef struct {
    int fd;
    state_t state;
    long long start_us, next_us; //  this request's start; the earliest next one
    size_t sent, got;
    char buf[BUF_SIZE];
} conn_t;

static struct sockaddr_in s_addr;
static char s_req[1024];
static size_t s_req_len;
static const char *s_mark;
static long long s_gap_us; //  between two starts on one connection (-r), or 0
static FILE *s_out;
static unsigned long s_count[6]; //  by status class: 0 (none), 1xx .. 5xx
static long long s_t0_us;        //  when the load began
#define S_SHOWN_MAX 20           //  non-2xx answers written to stderr, at most

static long long
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_log (conn_t *c, int status, int marked, const char *instance, size_t len)
{
    fprintf (s_out, "%lld %lld %d %d %.*s\n", c->start_us, s_now_us (), status, marked, (int) len,
             instance);
    s_count[status >= 100 && status < 600 ? status / 100 : 0]++;
}

static void
s_close (conn_t *c)
{
    if (c->fd >= 0)
        close (c->fd);
    c->fd = -1;
    c->state = S_IDLE;
}

//  The request in flight on c failed: one line with status 0, and a new
//  connection for the next one.
static void
s_fail (conn_t *c, const char *why)
{
    s_log (c, 0, 0, why, strlen (why));
    s_close (c);
}

//  Starts a request on c: a new connection when it has none.
static void
s_start (conn_t *c)
{
    c->start_us = s_now_us ();
    c->next_us = c->start_us + s_gap_us;
    c->sent = c->got = 0;
    if (c->fd >= 0) {
        c->state = S_SENDING;
        return;
    }
    c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (c->fd < 0) {
        s_fail (c, "connect");
        return;
    }
    setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect (c->fd, (struct sockaddr *) &s_addr, sizeof s_addr) == 0)
        c->state = S_SENDING;
    else if (errno == EINPROGRESS)
        c->state = S_CONNECTING;
    else
        s_fail (c, "connect");
}

//  The value of header name in the head [p, end), or NULL; *len its length.
static const char *
s_header (const char *p, const char *end, const char *name, size_t *len, const char **next)
{
    size_t n = strlen (name);
    for (const char *line = p; line < end;) {
        const char *eol = memmem (line, (size_t) (end - line), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t) (eol - line) > n && line[n] == ':' && strncasecmp (line, name, n) == 0) {
            const char *v = line + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *len = (size_t) (eol - v);
            if (next)
                *next = eol;
            return v;
        }
        line = eol + 2;
    }
    return NULL;
}

//  Reads what c's peer sent; when a whole response is in, logs it. Returns 1
//  when c's request is answered, 0 when more is due, -1 when c failed.
static int
s_read (conn_t *c)
{
    ssize_t n = recv (c->fd, c->buf + c->got, BUF_SIZE - 1 - c->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        s_fail (c, "closed");
        return -1;
    }
    c->got += (size_t) n;
    c->buf[c->got] = '\0';
    const char *head_end = memmem (c->buf, c->got, "\r\n\r\n", 4);
    if (!head_end) {
        if (c->got == BUF_SIZE - 1)
            s_fail (c, "bad");
        return c->got == BUF_SIZE - 1 ? -1 : 0;
    }
    if (c->got < 12 || memcmp (c->buf, "HTTP/1.", 7) != 0) {
        s_fail (c, "bad");
        return -1;
    }
    int status = atoi (c->buf + 9);
    const char *head = (const char *) memmem (c->buf, c->got, "\r\n", 2) + 2, *end = head_end + 2;
    size_t len = 0, body = 0;
    const char *v = s_header (head, end, "content-length", &len, NULL);
    if (v)
        body = strtoul (v, NULL, 10);
    if (body >= BUF_SIZE) { //  never an answer of the fault tests' chains
        s_fail (c, "bad");
        return -1;
    }
    if ((size_t) (head_end + 4 - c->buf) + body > c->got) {
        if (c->got == BUF_SIZE - 1)
            s_fail (c, "bad");
        return c->got == BUF_SIZE - 1 ? -1 : 0;
    }
    int marked = 0;
    for (const char *p = head, *next; s_mark && p < end; p = next) {
        v = s_header (p, end, "x-replica", &len, &next);
        if (!v)
            break;
        if (memmem (v, len, s_mark, strlen (s_mark)))
            marked = 1;
    }
    const char *id = s_header (head, end, "x-request-id", &len, NULL);
    const char *dash = id ? memchr (id, '-', len) : NULL;
    if (!id || len == 0)
        id = "-", len = 1;
    else if (dash)
        len = (size_t) (dash - id);
    s_log (c, status, marked, id, len);
    static int shown;
    if ((status < 200 || status > 299) && shown < S_SHOWN_MAX) {
        shown++;
        char *b = c->buf + (head_end + 4 - c->buf);
        size_t show = body > 300 ? 300 : body;
        for (size_t i = 0; i < show; i++) //  one line: the body's own newlines go
            if (b[i] == '\n' || b[i] == '\r')
                b[i] = ' ';
        fprintf (stderr, "baton_load: +%lld ms: %d after %lld ms: %.*s\n",
                 (c->start_us - s_t0_us) / 1000, status, (s_now_us () - c->start_us) / 1000,
                 (int) show, b);
    }
    const char *conn = s_header (head, end, "connection", &len, NULL);
    if (conn && len == 5 && strncasecmp (conn, "close", 5) == 0)
        s_close (c);
    else
        c->state = S_IDLE;
    return 1;
}

int
main (int argc, char **argv)
{
    long rate = 0;
    if (argc > 2 && strcmp (argv[1], "-r") == 0) {
        rate = atol (argv[2]);
        argc -= 2;
        argv += 2;
        if (rate <= 0) {
            fputs ("baton_load: -r RATE must be a number of requests a second\n", stderr);
            return 2;
        }
    }
    if (argc < 7 || argc > 8) {
        fputs ("usage: baton_load [-r RATE] PORT PATH CONNS DURATION_MS TIMEOUT_MS OUT [MARK]\n",
               stderr);
        return 2;
    }
    int port = atoi (argv[1]), conns = atoi (argv[3]);
    long long duration = atoll (argv[4]) * 1000, timeout = atoll (argv[5]) * 1000;
    if (port <= 0 || port > 65535 || conns <= 0 || conns > MAX_CONNS || duration <= 0 ||
        timeout <= 0 || argv[2][0] != '/') {
        fputs ("baton_load: PORT 1..65535, PATH from '/', CONNS 1..512, times > 0\n", stderr);
        return 2;
    }
    s_out = fopen (argv[6], "w");
    if (!s_out) {
        perror (argv[6]);
        return 1;
    }
    s_mark = argc == 8 ? argv[7] : NULL;
    s_gap_us = rate ? (long long) conns * 1000000 / rate : 0;
    s_addr.sin_family = AF_INET;
    s_addr.sin_port = htons ((uint16_t) port);
    s_addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    s_req_len =
        (size_t) snprintf (s_req, sizeof s_req, "GET %s HTTP/1.1\r\nHost: load\r\n\r\n", argv[2]);
    if (s_req_len >= sizeof s_req) {
        fputs ("baton_load: PATH is too long\n", stderr);
        return 2;
    }
    conn_t *c = calloc ((size_t) conns, sizeof *c);
    struct pollfd *pfd = calloc ((size_t) conns, sizeof *pfd);
    if (!c || !pfd)
        return 1;
    s_t0_us = s_now_us ();
    long long stop = s_t0_us + duration;
    for (int i = 0; i < conns; i++) {
        c[i].fd = -1;
        s_start (&c[i]);
    }
    for (;;) {
        long long now = s_now_us ();
        int busy = 0;
        for (int i = 0; i < conns; i++) {
            if (c[i].state == S_IDLE && now < stop && now >= c[i].next_us)
                s_start (&c[i]);
            if (c[i].state != S_IDLE && now - c[i].start_us > timeout)
                s_fail (&c[i], "timeout");
            pfd[i].fd = c[i].state == S_IDLE ? -1 : c[i].fd;
            pfd[i].events = c[i].state == S_READING ? POLLIN : POLLOUT;
            pfd[i].revents = 0;
            busy += c[i].state != S_IDLE;
        }
        if (!busy && now >= stop)
            break;
        if (poll (pfd, (nfds_t) conns, s_gap_us ? 1 : 10) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < conns; i++) {
            conn_t *k = &c[i];
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            if (k->state == S_CONNECTING) {
                int err = 0;
                socklen_t l = sizeof err;
                getsockopt (k->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err) {
                    s_fail (k, "connect");
                    continue;
                }
                k->state = S_SENDING;
            }
            if (k->state == S_SENDING) {
                ssize_t n = send (k->fd, s_req + k->sent, s_req_len - k->sent, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    s_fail (k, "closed");
                    continue;
                }
                if (n > 0)
                    k->sent += (size_t) n;
                if (k->sent == s_req_len)
                    k->state = S_READING;
            } else if (k->state == S_READING)
                s_read (k);
        }
    }
    for (int i = 0; i < conns; i++)
        s_close (&c[i]);
    free (c);
    free (pfd);
    fclose (s_out);
    fprintf (stderr, "baton_load: none %lu, 2xx %lu, 3xx %lu, 4xx %lu, 5xx %lu\n", s_count[0],
             s_count[2], s_count[3], s_count[4], s_count[5]);
    return 0;
}
