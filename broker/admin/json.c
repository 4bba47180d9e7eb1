/*  json.c - JSON strings for the admin documents.  */
#include "admin/json.h"

void
baton_json_str (baton_text_t *t, const char *s)
{
    baton_text_lit (t, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch == '"' || ch == '\\')
            baton_text_fmt (t, "\\%c", ch);
        else if (ch < 0x20)
            baton_text_fmt (t, "\\u%04x", ch);
        else
            baton_text_put (t, (const char *) &ch, 1);
    }
    baton_text_lit (t, "\"");
}
