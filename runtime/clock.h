/*  clock.h - the two clocks Baton uses: wall time for what crosses hosts
 *  (deadlines, trace records) and monotonic time for local timeouts.  */
#ifndef BATON_CLOCK_H
#define BATON_CLOCK_H

#include <stdint.h>

//  Microseconds since the Unix epoch (CLOCK_REALTIME).
uint64_t baton__wall_us (void);
//  Milliseconds since the Unix epoch (CLOCK_REALTIME).
uint64_t baton__wall_ms (void);
//  Monotonic microseconds from an arbitrary origin (CLOCK_MONOTONIC).
uint64_t baton__mono_us (void);

#endif
