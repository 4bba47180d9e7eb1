/*  errors.c - names and descriptions of the BATON_E... codes.  */
#include "baton/errors.h"

typedef struct {
    int code;
    const char *name;
    const char *text;
} s_error_t;

static const s_error_t s_errors[] = {
    {BATON_OK, "BATON_OK", "success"},
    {BATON_EINVAL, "BATON_EINVAL", "invalid argument"},
    {BATON_ENOMEM, "BATON_ENOMEM", "out of memory"},
    {BATON_ETOOBIG, "BATON_ETOOBIG", "document larger than the size limit"},
    {BATON_ETRUNCATED, "BATON_ETRUNCATED", "input ends before the document does"},
    {BATON_EMALFORMED, "BATON_EMALFORMED", "malformed msgpack"},
    {BATON_EDEPTH, "BATON_EDEPTH", "nesting deeper than the depth limit"},
    {BATON_ECOUNT, "BATON_ECOUNT", "array or map larger than the element limit"},
    {BATON_ESTRLEN, "BATON_ESTRLEN", "string longer than the string limit"},
    {BATON_EBINLEN, "BATON_EBINLEN", "binary longer than the body limit"},
    {BATON_ETYPE, "BATON_ETYPE", "value of the wrong type for its key"},
    {BATON_EMISSING, "BATON_EMISSING", "required key missing"},
    {BATON_EDUPKEY, "BATON_EDUPKEY", "key appears twice"},
    {BATON_EVERSION, "BATON_EVERSION", "unsupported envelope version"},
    {BATON_EROUTE, "BATON_EROUTE", "route too long or index out of range"},
    {BATON_ETOTAL, "BATON_ETOTAL", "too many elements in the document"},
    {BATON_EBUDGET, "BATON_EBUDGET", "hop budget exhausted"},
    {BATON_EEXPIRED, "BATON_EEXPIRED", "deadline passed"},
    {BATON_EUNREACHABLE, "BATON_EUNREACHABLE", "next hop unreachable"},
    {BATON_ESTATE, "BATON_ESTATE", "call not valid in this state"},
    {BATON_ESYS, "BATON_ESYS", "system call failed"},
    {BATON_ECONFIG, "BATON_ECONFIG", "invalid configuration"},
};

static const s_error_t *
s_find (int code)
{
    for (unsigned i = 0; i < sizeof s_errors / sizeof s_errors[0]; i++)
        if (s_errors[i].code == code)
            return &s_errors[i];
    return 0;
}

const char *
baton_strerror (int code)
{
    const s_error_t *e = s_find (code);
    return e ? e->text : "unknown error";
}

const char *
baton_errname (int code)
{
    const s_error_t *e = s_find (code);
    return e ? e->name : "BATON_E?";
}
