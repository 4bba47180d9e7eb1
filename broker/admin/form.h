/*  form.h - the strict application/x-www-form-urlencoded decoder of the admin
 *  API's request bodies: bounded, every percent-escape checked, every name
 *  once. The bytes come from the network: nothing in them is trusted.  */
#ifndef BATON_ADMIN_FORM_H
#define BATON_ADMIN_FORM_H

#include <stdbool.h>
#include <stddef.h>

//  Bytes in a body, fields in it, bytes in a field's name.
#define BATON_FORM_MAX_BODY   8192
#define BATON_FORM_MAX_FIELDS 16
#define BATON_FORM_MAX_NAME   32

//  One decoded field: name and value, each NUL-terminated in the form's own
//  buffer (a value has no NUL of its own: %00 is refused).
typedef struct {
    const char *name;
    const char *value;
    size_t value_len;
} baton_form_field_t;

//  A decoded body. A plain struct, on the caller's stack; it holds copies, so
//  the body may go once decoded.
typedef struct {
    baton_form_field_t fields[BATON_FORM_MAX_FIELDS];
    size_t count;
    //  Decoded bytes never outnumber encoded ones; a NUL ends each part.
    char buf[BATON_FORM_MAX_BODY + 2 * BATON_FORM_MAX_FIELDS];
} baton_form_t;

//  Decodes body (len bytes; not NUL-terminated) into *form: "name=value"
//  fields joined by "&"; an empty body has no field. Refused, with the reason
//  in why (whylen bytes, NUL-terminated when whylen > 0): a body over
//  BATON_FORM_MAX_BODY bytes or with more than BATON_FORM_MAX_FIELDS fields;
//  an empty field (leading, trailing or doubled "&"); a field without "=";
//  a name that is not 1 to BATON_FORM_MAX_NAME bytes of [A-Za-z0-9_.-]; a
//  name given twice; a raw byte that is not visible ASCII, or a raw "=" in a
//  value; "%" not followed by two hex digits; a decoded value that is not
//  UTF-8 or holds a control byte other than TAB, CR and LF. "+" is a space.
//  Returns 0, or -1 (then *form holds no field).
int baton_form_decode (baton_form_t *form, const char *body, size_t len, char *why, size_t whylen);

//  Decodes the percent-escapes of s (len bytes, one URL path segment: no "+"
//  rule) into out (cap bytes, NUL-terminated), with the value rules above.
//  Returns the decoded length, or -1 if s breaks a rule or does not fit.
int baton_form_unescape (const char *s, size_t len, char *out, size_t cap);

//  The value of the field called name, or NULL; its length in *len (may be
//  NULL).
const char *baton_form_get (const baton_form_t *form, const char *name, size_t *len);

#endif
