/*  json.h - the admin documents' one JSON helper: a string, escaped.  */
#ifndef BATON_ADMIN_JSON_H
#define BATON_ADMIN_JSON_H

#include "http/text.h"

//  Appends s (NUL-terminated) to t as a JSON string: quotes, with '"', '\'
//  and control bytes escaped.
void baton_json_str (baton_text_t *t, const char *s);

#endif
