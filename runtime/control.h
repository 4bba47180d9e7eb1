/*  control.h - the control messages functions send to gateways: announce at
 *  start, heartbeat at a fixed interval, goodbye on a clean stop. One msgpack
 *  map per ZeroMQ message (PUSH from the function, PULL at the gateway's
 *  control endpoint). Format: docs/wire-format.md, "Control messages".  */
#ifndef BATON_CONTROL_H
#define BATON_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define BATON_CONTROL_VERSION 1
//  Largest encoded control message we write or accept.
#define BATON_CONTROL_MAX_SIZE 4096

typedef enum {
    BATON_CONTROL_ANNOUNCE = 1,
    BATON_CONTROL_HEARTBEAT = 2,
    BATON_CONTROL_GOODBYE = 3,
} baton_control_type_t;

//  One control message. Strings are NUL-terminated and bounded by the array
//  sizes (the decoder rejects longer ones); optional fields are "" or 0.
typedef struct {
    baton_control_type_t type;
    char function[65];  //  function name (required)
    char endpoint[257]; //  the replica's inbox endpoint (required)
    char instance[65];  //  unique per process start (required)
    char version[65];   //  the function's version, free text
    char zone[65];      //  where it runs (a zone gateways prefer), free text
    char host[256];     //  host name
    uint64_t pid;
    uint64_t interval_ms; //  heartbeat interval the sender uses (required, > 0)
} baton_control_msg_t;

//  Encodes msg into dst (cap bytes). Returns the length, or 0 if it does not
//  fit or a required field is empty.
size_t baton__control_encode (const baton_control_msg_t *msg, void *dst, size_t cap);

//  Decodes one message, treating data as hostile: bounded reads, required
//  keys checked, unknown keys skipped. Returns 0 or a BATON_E... code.
int baton__control_decode (const void *data, size_t len, baton_control_msg_t *msg);

//  "announce", "heartbeat", "goodbye".
const char *baton__control_type_name (baton_control_type_t type);

#endif
