/*  conns.c - the P5 client of bench/run: opens N keep-alive connections to
 *  HOST:PORT, sends one GET on each and reads its response, keeps them all
 *  open, prints "READY ..." (so the caller can read the server's memory),
 *  holds them HOLD seconds, then sends a second GET on each (every
 *  connection must still be alive and answered) and reports. One thread,
 *  epoll, nonblocking connects at most BATCH at a time (so the listen
 *  backlog never overflows). Bounded: gives up after TIMEOUT seconds.
 *      conns HOST PORT N PATH [HOLD=5] [TIMEOUT=60]
 *  Exit 0 when every connection got both answers with status 200, 1 if not.  */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

typedef enum { C_NONE, C_CONNECTING, C_SENT, C_DONE, C_FAILED } cstate_t;

typedef struct {
    int fd;
    cstate_t state;
    size_t got;
    char buf[512];
} conn_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char s_req[256];
static size_t s_req_len;
static unsigned long s_errors, s_non200;
static const char *s_first_error;

static void
s_fail (conn_t *c, const char *why)
{
    if (c->state == C_FAILED)
        return;
    if (!s_first_error)
        s_first_error = why;
    c->state = C_FAILED;
    s_errors++;
}

static void
s_send (conn_t *c)
{
    ssize_t n = send (c->fd, s_req, s_req_len, MSG_NOSIGNAL);
    if (n != (ssize_t) s_req_len) {
        s_fail (c, "send failed");
        return;
    }
    c->state = C_SENT;
    c->got = 0;
}

//  Reads what came; a response is complete when its head and Content-Length
//  bytes of body are in. Returns 1 when this connection's response is done.
static int
s_read (conn_t *c)
{
    for (;;) {
        if (c->got == sizeof c->buf - 1) {
            s_fail (c, "response larger than 511 bytes");
            return 0;
        }
        ssize_t n = recv (c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got, 0);
        if (n == 0) {
            s_fail (c, "server closed a connection");
            return 0;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            s_fail (c, "recv failed");
            return 0;
        }
        c->got += (size_t) n;
    }
    c->buf[c->got] = '\0';
    char *end = strstr (c->buf, "\r\n\r\n");
    if (!end)
        return 0;
    long clen = 0;
    char *cl = strcasestr (c->buf, "\r\ncontent-length:");
    if (cl && cl < end)
        clen = strtol (cl + 17, NULL, 10);
    if ((long) (c->got - (size_t) (end + 4 - c->buf)) < clen)
        return 0;
    if (strncmp (c->buf, "HTTP/1.1 200 ", 13) != 0) {
        s_non200++;
        s_fail (c, "status other than 200");
        return 0;
    }
    if (strcasestr (c->buf, "\r\nconnection: close") &&
        strcasestr (c->buf, "\r\nconnection: close") < end) {
        s_fail (c, "server announced Connection: close");
        return 0;
    }
    c->state = C_DONE;
    return 1;
}

int
main (int argc, char **argv)
{
    if (argc < 5) {
        fputs ("usage: conns HOST PORT N PATH [HOLD=5] [TIMEOUT=60]\n", stderr);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi (argv[2]);
    long n = atol (argv[3]);
    const char *path = argv[4];
    double hold = argc > 5 ? atof (argv[5]) : 5;
    double timeout = argc > 6 ? atof (argv[6]) : 60;
    if (n <= 0 || n > 1000000 || port <= 0) {
        fputs ("conns: bad N or PORT\n", stderr);
        return 2;
    }
    struct rlimit rl;
    getrlimit (RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t) n + 16) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit (RLIMIT_NOFILE, &rl);
        getrlimit (RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t) n + 16) {
            fprintf (stderr, "conns: open-file limit %lu is below %ld (raise ulimit -n)\n",
                     (unsigned long) rl.rlim_cur, n + 16);
            return 2;
        }
    }
    s_req_len = (size_t) snprintf (
        s_req, sizeof s_req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: baton-conns\r\n\r\n",
        path, host, port);
    struct sockaddr_in addr;
    memset (&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons ((uint16_t) port);
    if (inet_pton (AF_INET, host, &addr.sin_addr) != 1) {
        fputs ("conns: HOST must be an IPv4 address\n", stderr);
        return 2;
    }
    conn_t *conns = calloc ((size_t) n, sizeof *conns);
    struct epoll_event *evs = calloc (BATCH * 4, sizeof *evs);
    int ep = epoll_create1 (0);
    if (!conns || !evs || ep < 0)
        return 2;
    double t0 = s_now (), give_up = t0 + timeout;
    //  Phase 1: connect (BATCH at a time) and send the first request.
    long next = 0, pending = 0, done = 0;
    while ((next < n || pending > 0) && s_now () < give_up) {
        while (next < n && pending < BATCH) {
            conn_t *c = &conns[next];
            c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (c->fd < 0) {
                s_fail (c, "socket failed");
                next++;
                continue;
            }
            int one = 1;
            setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            int rc = connect (c->fd, (struct sockaddr *) &addr, sizeof addr);
            if (rc < 0 && errno != EINPROGRESS) {
                s_fail (c, "connect failed");
                close (c->fd);
                c->fd = -1;
                next++;
                continue;
            }
            c->state = C_CONNECTING;
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
            epoll_ctl (ep, EPOLL_CTL_ADD, c->fd, &ev);
            next++;
            pending++;
        }
        int k = epoll_wait (ep, evs, BATCH * 4, 100);
        for (int i = 0; i < k; i++) {
            conn_t *c = (conn_t *) evs[i].data.ptr;
            if (c->state == C_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    s_fail (c, "connect refused or reset");
                    pending--;
                    continue;
                }
                s_send (c);
                if (c->state == C_FAILED) {
                    pending--;
                    continue;
                }
            }
            if (c->state == C_SENT && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                if (s_read (c))
                    done++;
                if (c->state != C_SENT)
                    pending--;
            }
        }
    }
    long open = 0;
    for (long i = 0; i < n; i++) {
        if (conns[i].state == C_SENT || conns[i].state == C_CONNECTING)
            s_fail (&conns[i], "no answer in time");
        open += conns[i].state == C_DONE;
    }
    printf ("READY connections=%ld answered=%ld errors=%lu seconds=%.2f\n", n, done, s_errors,
            s_now () - t0);
    fflush (stdout);
    //  Hold them, then ask again on each: every one must still be served.
    struct timespec ts = {(time_t) hold, (long) ((hold - (double) (time_t) hold) * 1e9)};
    nanosleep (&ts, NULL);
    long again = 0, waiting = 0;
    for (long i = 0; i < n; i++)
        if (conns[i].state == C_DONE) {
            s_send (&conns[i]);
            waiting += conns[i].state == C_SENT;
        }
    give_up = s_now () + timeout;
    while (waiting > 0 && s_now () < give_up) {
        int k = epoll_wait (ep, evs, BATCH * 4, 100);
        for (int i = 0; i < k; i++) {
            conn_t *c = (conn_t *) evs[i].data.ptr;
            if (c->state != C_SENT)
                continue;
            if (s_read (c))
                again++;
            if (c->state != C_SENT)
                waiting--;
        }
    }
    for (long i = 0; i < n; i++)
        if (conns[i].state == C_SENT)
            s_fail (&conns[i], "no second answer in time");
    printf ("DONE connections=%ld held=%ld answered_again=%ld errors=%lu non200=%lu%s%s\n", n, open,
            again, s_errors, s_non200, s_first_error ? " first_error=" : "",
            s_first_error ? s_first_error : "");
    for (long i = 0; i < n; i++)
        if (conns[i].fd > 0)
            close (conns[i].fd);
    free (conns);
    free (evs);
    return s_errors == 0 && again == n ? 0 : 1;
}
