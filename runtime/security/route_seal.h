/*  route_seal.h - the seal of an envelope's route (docs/security.md,
 *  "Sealed routes"): the canonical bytes of seal.h built from an envelope,
 *  written by the gateway and checked by every hop that has the mesh key.  */
#ifndef BATON_SECURITY_ROUTE_SEAL_H
#define BATON_SECURITY_ROUTE_SEAL_H

#include <stdint.h>
#include "baton/envelope.h"
#include "seal.h"

//  Computes env's seal with key into out: over its id, reply_to, deadline,
//  initial budget (budget + index), base route (the route without the
//  branch taken) and branches. Returns 0, or -1 if the route does not end
//  with the branch it says was taken (a seal cannot be made for it).
int baton__route_seal (const baton_envelope_t *env, const uint8_t key[BATON_MESH_KEY_SIZE],
                       uint8_t out[BATON_SEAL_SIZE]);

//  Seals env with key: sets its seal. Returns 0, or a BATON_E... code.
int baton__route_seal_set (baton_envelope_t *env, const uint8_t key[BATON_MESH_KEY_SIZE]);

//  Checks env as a hop that has key does before user code: it has a seal;
//  a branch it took is the tail of its route (hops and keys) and the index
//  is not before it; the seal matches. Returns NULL if it holds, else why
//  not (a static string).
const char *baton__route_seal_check (const baton_envelope_t *env,
                                     const uint8_t key[BATON_MESH_KEY_SIZE]);

#endif
