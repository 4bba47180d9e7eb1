/*  signals.h - the process-wide SIGINT/SIGTERM handling that the worker loop
 *  (worker.c) and the host loop (host.c) share: a generation counter each
 *  signal bumps, which a running loop compares with the value it started with.  */
#ifndef BATON_SIGNALS_H
#define BATON_SIGNALS_H

#include <stdatomic.h>
#include <stdbool.h>

//  Installs the SIGINT and SIGTERM handlers unless a loop holds them
//  already; each hold needs one release. Thread-safe.
void baton__signals_hold (void);

//  Gives one hold back; the last restores the handlers found at the first.
void baton__signals_release (void);

//  The number of SIGINT/SIGTERM seen while held. Lock-free.
unsigned baton__signals_gen (void);

//  How often a loop that started at signal generation gen was asked to stop:
//  the count of its own stop calls in *stop, plus, if it handles signals, the
//  SIGINT/SIGTERM seen since. The first asks for a drain, the second for the
//  end. Lock-free.
unsigned baton__signals_stops (atomic_uint *stop, bool signals, unsigned gen);

#endif
