/*  form.c - application/x-www-form-urlencoded, strictly: the admin API's
 *  request bodies and the ids in its paths. Rules: form.h.  */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "admin/form.h"

static int
s_hex (unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool
s_name_byte (unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

//  True if s[0..len) is UTF-8 (no overlong form, no surrogate, nothing above
//  U+10FFFF) without NUL, DEL or a control byte other than TAB, CR and LF.
static bool
s_valid_text (const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char ch = s[i];
        if (ch < 0x80) {
            if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (ch >= 0xc2 && ch <= 0xdf) {
            n = 1;
            cp = ch & 0x1f;
            min = 0x80;
        } else if (ch >= 0xe0 && ch <= 0xef) {
            n = 2;
            cp = ch & 0x0f;
            min = 0x800;
        } else if (ch >= 0xf0 && ch <= 0xf4) {
            n = 3;
            cp = ch & 0x07;
            min = 0x10000;
        } else
            return false;
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

//  Decodes one value s[0..len) into out (room for len + 1 bytes: decoding
//  never grows); plus: "+" is a space. Returns the decoded length, or -1
//  with the reason in why.
static int
s_decode_value (const char *s, size_t len, bool plus, char *out, const char **why)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) s[i];
        if (ch == '%') {
            int hi = i + 2 < len ? s_hex ((unsigned char) s[i + 1]) : -1;
            int lo = i + 2 < len ? s_hex ((unsigned char) s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *why = "\"%\" must be followed by two hex digits";
                return -1;
            }
            out[n++] = (char) (hi << 4 | lo);
            i += 2;
            continue;
        }
        if (ch <= 0x20 || ch >= 0x7f) {
            *why = "a byte that is not visible ASCII (percent-encode it)";
            return -1;
        }
        if (ch == '=') {
            *why = "a raw \"=\" in a value (encode it as %3D)";
            return -1;
        }
        out[n++] = plus && ch == '+' ? ' ' : (char) ch;
    }
    if (!s_valid_text ((const unsigned char *) out, n)) {
        *why = "a value that is not UTF-8 text (NUL and control bytes but TAB, CR, LF are refused)";
        return -1;
    }
    out[n] = '\0';
    return (int) n;
}

int
baton_form_unescape (const char *s, size_t len, char *out, size_t cap)
{
    const char *why;
    if (len >= cap)
        return -1;
    return s_decode_value (s, len, false, out, &why);
}

static int
s_refuse (baton_form_t *form, char *why, size_t whylen, const char *reason, size_t field)
{
    form->count = 0;
    if (whylen > 0)
        snprintf (why, whylen, "form field %zu: %s", field + 1, reason);
    return -1;
}

int
baton_form_decode (baton_form_t *form, const char *body, size_t len, char *why, size_t whylen)
{
    form->count = 0;
    if (len > BATON_FORM_MAX_BODY) {
        if (whylen > 0)
            snprintf (why, whylen, "the form is over %d bytes", BATON_FORM_MAX_BODY);
        return -1;
    }
    char *out = form->buf;
    size_t start = 0;
    for (size_t f = 0; len > 0 && start <= len; f++) {
        const char *field = body + start;
        const char *amp = (const char *) memchr (field, '&', len - start);
        size_t flen = amp ? (size_t) (amp - field) : len - start;
        if (f == BATON_FORM_MAX_FIELDS)
            return s_refuse (form, why, whylen, "too many fields", f);
        if (flen == 0)
            return s_refuse (form, why, whylen, "empty (a leading, trailing or doubled \"&\")", f);
        const char *eq = (const char *) memchr (field, '=', flen);
        if (!eq)
            return s_refuse (form, why, whylen, "no \"=\" (write name=value)", f);
        size_t nlen = (size_t) (eq - field);
        if (nlen == 0 || nlen > BATON_FORM_MAX_NAME)
            return s_refuse (form, why, whylen, "a name must be 1 to 32 bytes", f);
        for (size_t i = 0; i < nlen; i++)
            if (!s_name_byte ((unsigned char) field[i]))
                return s_refuse (form, why, whylen,
                                 "a name is letters, digits, \"_\", \".\", \"-\"", f);
        for (size_t k = 0; k < form->count; k++)
            if (strlen (form->fields[k].name) == nlen &&
                memcmp (form->fields[k].name, field, nlen) == 0)
                return s_refuse (form, why, whylen, "a name given twice", f);
        memcpy (out, field, nlen);
        out[nlen] = '\0';
        baton_form_field_t *fl = &form->fields[form->count];
        fl->name = out;
        out += nlen + 1;
        const char *reason;
        int vlen = s_decode_value (eq + 1, flen - nlen - 1, true, out, &reason);
        if (vlen < 0)
            return s_refuse (form, why, whylen, reason, f);
        fl->value = out;
        fl->value_len = (size_t) vlen;
        out += (size_t) vlen + 1;
        form->count++;
        start += flen + 1;
        if (!amp)
            break;
    }
    return 0;
}

const char *
baton_form_get (const baton_form_t *form, const char *name, size_t *len)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp (form->fields[i].name, name) == 0) {
            if (len)
                *len = form->fields[i].value_len;
            return form->fields[i].value;
        }
    return NULL;
}
