/*  dev.c - "baton dev": wires its parts on one libuv loop and holds the order
 *  in which dev mode starts and stops. The plan says what to start, the
 *  supervisor runs it, the gateway runs on a thread of its own, the output
 *  is one stream. Also the child side, "baton __child".  */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>
#include "config/config.h"
#include "dev/banner.h"
#include "dev/dev.h"
#include "dev/gateway_thread.h"
#include "dev/options.h"
#include "dev/output.h"
#include "dev/plan.h"
#include "dev/supervisor.h"
#include "dev/util.h"

#define S_READY_POLL_MS 20
#define S_READY_WARN_MS 10000
//  Once every inbox is bound, the gateway's connects (retried every 100 ms,
//  ZeroMQ's reconnect interval) get this long before "ready" is said.
#define S_SETTLE_MS 200

typedef enum {
    S_RUNNING,
    S_DRAINING, //  the gateway is shutting down; the functions still run
    S_STOPPING, //  the functions have had SIGTERM
    S_CLOSED    //  every handle is closing; the loop is about to end
} s_state_t;

typedef struct {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t ready_timer;
    baton__dev_output_t *out;
    baton_config_t *config;
    const char *config_path;
    baton__dev_plan_t *plan;
    baton__dev_gateway_t *gw;
    baton__dev_supervisor_t *sup;
    s_state_t state;
    int exit_code;
    uint64_t t0_ms;
    bool ready_warned;
    uint64_t all_bound_ms; //  when every inbox was first seen bound; 0 before
} s_dev_t;

//  --- ready -------------------------------------------------------------------------------

static void
s_on_ready_timer (uv_timer_t *t)
{
    s_dev_t *dev = (s_dev_t *) t->data;
    uint64_t now = baton__dev_now_ms ();
    bool all = baton__dev_supervisor_bound (dev->sup);
    if (all && !dev->all_bound_ms)
        dev->all_bound_ms = now;
    if (all && now - dev->all_bound_ms >= S_SETTLE_MS) {
        uv_timer_stop (t);
        baton__dev_banner_print (
            dev->out, dev->config, dev->config_path, baton__dev_gateway_port (dev->gw),
            baton__dev_gateway_admin_port (dev->gw), baton__dev_now_ms () - dev->t0_ms);
        return;
    }
    if (!dev->ready_warned && now - dev->t0_ms >= S_READY_WARN_MS) {
        dev->ready_warned = true;
        baton__dev_supervisor_say_unbound (dev->sup);
    }
}

//  --- stopping ----------------------------------------------------------------------------

//  Every handle of ours closes; uv_run then returns.
static void
s_close (s_dev_t *dev)
{
    dev->state = S_CLOSED;
    uv_close ((uv_handle_t *) &dev->sigint, NULL);
    uv_close ((uv_handle_t *) &dev->sigterm, NULL);
    uv_close ((uv_handle_t *) &dev->sighup, NULL);
    uv_close ((uv_handle_t *) &dev->ready_timer, NULL);
    if (dev->gw)
        baton__dev_gateway_close (dev->gw);
    if (dev->sup)
        baton__dev_supervisor_close (dev->sup);
    baton__dev_output_close (dev->out);
}

//  The supervisor: the last function has exited.
static void
s_on_stopped (void *arg)
{
    s_dev_t *dev = (s_dev_t *) arg;
    baton__dev_output_say (dev->out, "stopped");
    s_close (dev);
}

//  The gateway has drained: now the functions, each process group at once.
static void
s_on_gateway_done (void *arg)
{
    s_dev_t *dev = (s_dev_t *) arg;
    if (dev->state == S_RUNNING) {
        baton__dev_output_say (dev->out, "the gateway stopped on its own");
        dev->exit_code = 1;
    }
    dev->state = S_STOPPING;
    baton__dev_supervisor_terminate (dev->sup);
}

//  Starts the stop: the gateway first (no new requests, in-flight ones
//  finish while the functions still run), then the functions.
static void
s_stop (s_dev_t *dev, int code)
{
    if (code > dev->exit_code)
        dev->exit_code = code;
    if (dev->state != S_RUNNING)
        return;
    dev->state = S_DRAINING;
    uv_timer_stop (&dev->ready_timer);
    baton__dev_supervisor_hold (dev->sup);
    baton__dev_output_say (dev->out,
                           "stopping: the gateway first (in-flight requests finish), then the "
                           "functions");
    baton__dev_gateway_stop (dev->gw);
}

//  The supervisor: a function cannot start at all.
static void
s_on_failed (void *arg)
{
    s_stop ((s_dev_t *) arg, 1);
}

static void
s_on_signal (uv_signal_t *s, int signum)
{
    s_dev_t *dev = (s_dev_t *) s->data;
    if (dev->state == S_RUNNING) {
        baton__dev_output_say (dev->out, "%s",
                               signum == SIGINT ? "Ctrl-C" : baton__dev_signame (signum));
        s_stop (dev, 0);
        return;
    }
    //  A second signal: no more waiting for anyone.
    baton__dev_output_say (dev->out, "%s again: killing everything now",
                           baton__dev_signame (signum));
    baton__dev_supervisor_kill (dev->sup);
    baton__dev_gateway_restore_stderr (dev->gw);
    baton__dev_plan_remove_dir (dev->plan);
    _exit (1);
}

//  --- setup -------------------------------------------------------------------------------

//  Everything that can fail before the first process starts. Returns 0, or
//  -1 after saying why on stderr.
static int
s_setup (s_dev_t *dev, const baton__dev_options_t *o)
{
    char err[BATON_CONFIG_MAX_ERROR + PATH_MAX];
    dev->config = baton_config_load (o->config, err, sizeof err);
    if (!dev->config) {
        fprintf (stderr, "baton dev: %s\n", err);
        if (o->config_default)
            fputs ("baton dev: (that is the default; pass -c FILE for another)\n", stderr);
        return -1;
    }
    dev->config_path = o->config;
    if (baton_config_gateway_set_ports (dev->config, o->port, o->admin_port) < 0) {
        fputs ("baton dev: the public and admin listeners would be the same port\n", stderr);
        return -1;
    }
    const baton_config_security_t *sec = baton_config_security (dev->config);
    if (sec->mode != BATON_SECURITY_NONE)
        baton__dev_output_say (dev->out,
                               "the config's security section (mode %s) is set aside: dev mode %s",
                               baton_config_security_mode_name (sec->mode),
                               o->insecure ? "runs a plaintext mesh (--insecure)"
                                           : "makes a fresh key set for this run");
    if (baton_config_gateway (dev->config)->admin_token_file)
        baton__dev_output_say (dev->out, "the config's gateway.admin_token_file is set aside: dev "
                                         "mode makes a fresh admin token for this run");
    dev->plan = baton__dev_plan_new (dev->config, o->config, o->insecure, err, sizeof err);
    if (!dev->plan) {
        fprintf (stderr, "baton dev: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < baton__dev_plan_count (dev->plan); i++)
        baton__dev_output_widen (dev->out, baton__dev_plan_child (dev->plan, i)->label.name);
    dev->gw = baton__dev_gateway_new (dev->config, &dev->loop, dev->out, s_on_gateway_done, dev);
    if (!dev->gw)
        return -1;
    dev->sup =
        baton__dev_supervisor_new (&dev->loop, dev->plan, dev->out, s_on_failed, s_on_stopped, dev);
    uv_signal_start (&dev->sigint, s_on_signal, SIGINT);
    uv_signal_start (&dev->sigterm, s_on_signal, SIGTERM);
    uv_signal_start (&dev->sighup, s_on_signal, SIGHUP); //  its terminal closed
    return baton__dev_gateway_start (dev->gw);
}

static s_dev_t *
s_dev_new (bool color)
{
    s_dev_t *dev = (s_dev_t *) baton__dev_alloc (sizeof *dev);
    dev->t0_ms = baton__dev_now_ms ();
    uv_loop_init (&dev->loop);
    uv_signal_init (&dev->loop, &dev->sigint);
    uv_signal_init (&dev->loop, &dev->sigterm);
    uv_signal_init (&dev->loop, &dev->sighup);
    uv_timer_init (&dev->loop, &dev->ready_timer);
    dev->sigint.data = dev->sigterm.data = dev->sighup.data = dev->ready_timer.data = dev;
    dev->out = baton__dev_output_new (&dev->loop, color);
    return dev;
}

static void
s_dev_destroy (s_dev_t *dev)
{
    if (dev->state != S_CLOSED) //  setup failed: nothing ran
        s_close (dev);
    uv_run (&dev->loop, UV_RUN_DEFAULT); //  close callbacks still due
    if (uv_loop_close (&dev->loop) != 0)
        fputs ("baton dev: a handle was left open\n", stderr);
    baton__dev_gateway_destroy (&dev->gw);
    baton__dev_supervisor_destroy (&dev->sup);
    baton__dev_output_destroy (&dev->out);
    baton__dev_plan_destroy (&dev->plan);
    baton_config_destroy (&dev->config);
    free (dev);
}

int
baton__cmd_dev (int argc, char **argv)
{
    baton__dev_options_t o;
    int rc = baton__dev_options_parse (argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    //  A reader that went away must not kill us (and with us the chain).
    signal (SIGPIPE, SIG_IGN);
    bool color = o.color >= 0 ? o.color == 1
                              : isatty (STDOUT_FILENO) && !getenv ("NO_COLOR") &&
                                    !(getenv ("TERM") && !strcmp (getenv ("TERM"), "dumb"));
    s_dev_t *dev = s_dev_new (color);
    if (s_setup (dev, &o) < 0) {
        s_dev_destroy (dev);
        return 1;
    }
    const char *build_dir = baton__dev_plan_build_dir (dev->plan);
    baton__dev_output_say (dev->out, "config %s, runtime dir %s%s%s", dev->config_path,
                           baton__dev_plan_runtime_dir (dev->plan),
                           build_dir[0] ? ", build dir " : "", build_dir);
    for (size_t i = 0; i < baton_config_function_count (dev->config); i++) {
        const baton_config_function_t *f = baton_config_function (dev->config, i);
        if (!f->run)
            baton__dev_output_say (dev->out,
                                   "%s is not started here (no run:): the gateway sends to %s%s",
                                   f->name, f->endpoint_count ? f->endpoints[0] : "(nothing)",
                                   f->endpoint_count > 1 ? ", ..." : "");
    }
    if (baton__dev_supervisor_start (dev->sup) < 0)
        s_stop (dev, 1);
    if (dev->state == S_RUNNING)
        uv_timer_start (&dev->ready_timer, s_on_ready_timer, 0, S_READY_POLL_MS);
    uv_run (&dev->loop, UV_RUN_DEFAULT);
    rc = dev->exit_code;
    s_dev_destroy (dev);
    return rc;
}

//  --- the child side ----------------------------------------------------------------------

int
baton__cmd_dev_child (int argc, char **argv)
{
    if (argc != 4 || strcmp (argv[2], "--")) {
        fputs ("baton __child: an internal command of baton dev\n", stderr);
        return 2;
    }
    long ppid = strtol (argv[1], NULL, 10);
    //  Dies with its parent, even a parent killed with SIGKILL. The setting
    //  survives exec; a parent that died before it was set is caught next.
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fprintf (stderr, "baton: prctl (PR_SET_PDEATHSIG): %s\n", strerror (errno));
        return 126;
    }
    if ((long) getppid () != ppid)
        return 126;
    execl ("/bin/sh", "sh", "-c", argv[3], (char *) NULL);
    fprintf (stderr, "baton: cannot run /bin/sh: %s\n", strerror (errno));
    return 126;
}
