/*  signals.c - SIGINT and SIGTERM for the worker and host loops. The handler
 *  only bumps a generation counter (lock-free, so async-signal-safe); each
 *  running loop compares it with the value it started with: one signal
 *  starts a drain, a second ends it.  */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include "signals.h"

static atomic_uint s_signal_gen;
static pthread_mutex_t s_signal_lock = PTHREAD_MUTEX_INITIALIZER;
static int s_signal_users;
static struct sigaction s_old_int, s_old_term;

unsigned
baton__signals_gen (void)
{
    return atomic_load (&s_signal_gen);
}

unsigned
baton__signals_stops (atomic_uint *stop, bool signals, unsigned gen)
{
    return atomic_load (stop) + (signals ? baton__signals_gen () - gen : 0u);
}

static void
s_on_signal (int sig)
{
    (void) sig;
    atomic_fetch_add (&s_signal_gen, 1u);
}

void
baton__signals_hold (void)
{
    pthread_mutex_lock (&s_signal_lock);
    if (s_signal_users++ == 0) {
        struct sigaction sa;
        memset (&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal;
        sigemptyset (&sa.sa_mask);
        sa.sa_flags = 0; //  no SA_RESTART: a wait in progress returns EINTR at once
        sigaction (SIGINT, &sa, &s_old_int);
        sigaction (SIGTERM, &sa, &s_old_term);
    }
    pthread_mutex_unlock (&s_signal_lock);
}

void
baton__signals_release (void)
{
    pthread_mutex_lock (&s_signal_lock);
    if (--s_signal_users == 0) {
        sigaction (SIGINT, &s_old_int, NULL);
        sigaction (SIGTERM, &s_old_term, NULL);
    }
    pthread_mutex_unlock (&s_signal_lock);
}
