/*  clock.c - wall and monotonic clocks in integer units.  */
#include <time.h>
#include "clock.h"

static uint64_t
s_read_us (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t
baton__wall_us (void)
{
    return s_read_us (CLOCK_REALTIME);
}

uint64_t
baton__wall_ms (void)
{
    return s_read_us (CLOCK_REALTIME) / 1000u;
}

uint64_t
baton__mono_us (void)
{
    return s_read_us (CLOCK_MONOTONIC);
}
