/*  fuzz_form.c - libFuzzer target for the admin API's form decoder. What it
 *  accepts must hold to its limits, and encoding the fields again must
 *  decode to the same fields; a refusal leaves no field and says why.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin/form.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Appends s (len bytes) percent-encoded but for letters and digits.
static size_t
s_encode (char *out, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            out[n++] = (char) ch;
        else
            n += (size_t) sprintf (out + n, "%%%02X", ch);
    }
    return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static baton_form_t form, again;
    static char encoded[3 * (BATON_FORM_MAX_BODY + 2 * BATON_FORM_MAX_FIELDS)];
    char why[200] = "";
    const char *body = (const char *) data;
    if (baton_form_decode (&form, body, size, why, sizeof why) != 0) {
        if (form.count != 0 || why[0] == '\0')
            abort ();
    } else {
        if (size > BATON_FORM_MAX_BODY || form.count > BATON_FORM_MAX_FIELDS)
            abort ();
        size_t n = 0;
        for (size_t i = 0; i < form.count; i++) {
            const baton_form_field_t *f = &form.fields[i];
            size_t nlen = strlen (f->name);
            if (nlen == 0 || nlen > BATON_FORM_MAX_NAME || strlen (f->value) != f->value_len)
                abort ();
            for (size_t k = 0; k < i; k++)
                if (strcmp (form.fields[k].name, f->name) == 0)
                    abort ();
            if (baton_form_get (&form, f->name, NULL) != f->value)
                abort ();
            if (i)
                encoded[n++] = '&';
            memcpy (encoded + n, f->name, nlen);
            n += nlen;
            encoded[n++] = '=';
            n += s_encode (encoded + n, f->value, f->value_len);
        }
        //  The encoding may be longer than the bound: only then is it refused.
        int rc = baton_form_decode (&again, encoded, n, why, sizeof why);
        if (n <= BATON_FORM_MAX_BODY ? rc != 0 : rc == 0)
            abort ();
        for (size_t i = 0; rc == 0 && i < form.count; i++)
            if (strcmp (again.fields[i].name, form.fields[i].name) != 0 ||
                again.fields[i].value_len != form.fields[i].value_len ||
                memcmp (again.fields[i].value, form.fields[i].value, form.fields[i].value_len))
                abort ();
    }
    //  The same bytes as one path segment.
    char seg[256];
    int len = baton_form_unescape (body, size, seg, sizeof seg);
    if (len >= 0 && ((size_t) len > size || strlen (seg) != (size_t) len))
        abort ();
    return 0;
}
