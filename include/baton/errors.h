/*  errors.h - Baton's error codes: 0 is success, every failure is a negative
 *  BATON_E... code, and baton_strerror () names it in words.  */
#ifndef BATON_ERRORS_H
#define BATON_ERRORS_H

#include "baton/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    BATON_OK = 0,
    BATON_EINVAL = -1,        //  invalid argument (API misuse)
    BATON_ENOMEM = -2,        //  out of memory
    BATON_ETOOBIG = -3,       //  document larger than the size limit
    BATON_ETRUNCATED = -4,    //  input ends before the document does
    BATON_EMALFORMED = -5,    //  bytes that are not valid msgpack (or trailing bytes)
    BATON_EDEPTH = -6,        //  nesting deeper than the depth limit
    BATON_ECOUNT = -7,        //  an array or map declares more elements than allowed
    BATON_ESTRLEN = -8,       //  a string longer than the string limit
    BATON_EBINLEN = -9,       //  a binary longer than the body limit
    BATON_ETYPE = -10,        //  a known key holds a value of the wrong type
    BATON_EMISSING = -11,     //  a required key is absent
    BATON_EDUPKEY = -12,      //  a known key appears twice
    BATON_EVERSION = -13,     //  envelope version this reader does not speak
    BATON_EROUTE = -14,       //  route too long, or index outside the route
    BATON_ETOTAL = -15,       //  more elements in the whole document than allowed
    BATON_EBUDGET = -16,      //  hop budget exhausted
    BATON_EEXPIRED = -17,     //  deadline passed
    BATON_EUNREACHABLE = -18, //  next hop did not take the message in time
    BATON_ESTATE = -19,       //  call not valid in the current state
    BATON_ESYS = -20,         //  system or ZeroMQ call failed (see errno)
    BATON_ECONFIG = -21,      //  configuration invalid
};

//  Returns a short English description of a BATON_E... code. Never NULL.
BATON_EXPORT const char *baton_strerror (int code);

//  Returns the symbolic name of a code ("BATON_ETRUNCATED"). Never NULL.
BATON_EXPORT const char *baton_errname (int code);

#ifdef __cplusplus
}
#endif
#endif
