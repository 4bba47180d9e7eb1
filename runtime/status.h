/*  status.h - HTTP status reason phrases (RFC 9110), for status lines and
 *  problem+json titles, shared by the gateway and the SDK.  */
#ifndef BATON_STATUS_H
#define BATON_STATUS_H

//  The reason phrase of status, or a class name ("Client Error") for codes
//  without one. Never NULL.
const char *baton__http_reason (unsigned status);

#endif
