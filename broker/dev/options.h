/*  options.h - the command line of "baton dev" and its --help text.  */
#ifndef BATON_DEV_OPTIONS_H
#define BATON_DEV_OPTIONS_H

#include <stdbool.h>

typedef struct {
    const char *config;   //  the config file (points into argv, or the default)
    bool config_default;  //  config is the pipeline example, not from -c
    int port, admin_port; //  -1: as configured
    int color;            //  -1 auto, 0 never, 1 always
    bool insecure;        //  a plaintext mesh, not CURVE with fresh keys
} baton__dev_options_t;

//  Parses argv (argv[0] is "dev") into o. Returns 0; 1 after printing the
//  help on stdout (-h, --help); 2 on a usage error, said on stderr.
int baton__dev_options_parse (int argc, char **argv, baton__dev_options_t *o);

#endif
