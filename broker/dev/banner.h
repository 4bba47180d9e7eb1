/*  banner.h - what "baton dev" prints once the chain is ready: the gateway's
 *  URL, how to steer it with baton ctl, the routes with their chains, and
 *  commands to try (the config's "# try: ..." comments, or one curl line
 *  per route).  */
#ifndef BATON_DEV_BANNER_H
#define BATON_DEV_BANNER_H

#include <stdint.h>
#include "config/config.h"
#include "dev/output.h"

//  Writes the banner to out (coloured when out is): config as loaded from
//  config_path (read again for its "# try:" comments; a file that cannot be
//  read has none), the gateway listening on port and admin_port, ready
//  after elapsed_ms. Aborts only when out of memory.
void baton__dev_banner_print (baton__dev_output_t *out, const baton_config_t *config,
                              const char *config_path, int port, int admin_port,
                              uint64_t elapsed_ms);

#endif
