/*  render.h - what "baton ctl" prints for people: aligned tables and
 *  key-value lines made from the admin listener's JSON. Every string from
 *  the gateway is printed through baton__ctl_put_safe (): no byte of it can
 *  drive the terminal.  */
#ifndef BATON_CTL_RENDER_H
#define BATON_CTL_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include "ctl/json.h"

//  Writes the len bytes at s to out with every control character, C1
//  control and byte that is not UTF-8 written as an escape ("\x1b").
void baton__ctl_put_safe (FILE *out, const char *s, size_t len);

//  Each writes one answer of the admin listener (root: its parsed JSON) to
//  out. Returns 0, or -1 (having written nothing) when root lacks what the
//  answer must hold; members it does not know are ignored.

//  GET /-/routes: METHODS, PATH, CHAIN, DEADLINE, one route a line.
int baton__ctl_render_routes (FILE *out, const baton_jsonr_value_t *root);
//  GET /-/topology: one replica a line: FUNCTION, INSTANCE, STATE, WEIGHT,
//  OUTSTANDING, ROUTED, HEARTBEAT, ENDPOINT.
int baton__ctl_render_topology (FILE *out, const baton_jsonr_value_t *root);
//  GET /-/config: key-value lines.
int baton__ctl_render_config (FILE *out, const baton_jsonr_value_t *root);
//  GET /-/overrides: ID, KIND, TARGET, CHANGE, EXPIRES, BY.
int baton__ctl_render_overrides (FILE *out, const baton_jsonr_value_t *root);
//  One override (POST /-/overrides' answer) on one line after verb ("added").
int baton__ctl_render_override (FILE *out, const char *verb, const baton_jsonr_value_t *root);
//  One replica (a drain's answer) on one line after verb ("draining").
int baton__ctl_render_replica (FILE *out, const char *verb, const baton_jsonr_value_t *root);
//  POST /-/reload's answer.
int baton__ctl_render_reload (FILE *out, const baton_jsonr_value_t *root);

//  What "baton ctl status" gathered: NULL documents for endpoints the
//  gateway does not have.
typedef struct {
    const char *admin;                   //  the URL asked
    bool healthy;                        //  GET /-/health answered 200
    bool ready;                          //  GET /-/ready answered 200
    const baton_jsonr_value_t *config;   //  GET /-/config
    const baton_jsonr_value_t *topology; //  GET /-/topology
    const baton_jsonr_value_t *overrides;
} baton__ctl_status_t;

//  Key-value lines: gateway, health, ready, config, reloads, replicas by
//  state (and each function without a replica alive), overrides. Returns 0.
int baton__ctl_render_status (FILE *out, const baton__ctl_status_t *st);

//  Writes ms as people read it: "250ms", "1.5s", "9m59s", "2h05m".
void baton__ctl_format_ms (int64_t ms, char *buf, size_t cap);

#endif
