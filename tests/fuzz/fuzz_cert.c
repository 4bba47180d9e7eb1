/*  fuzz_cert.c - libFuzzer target for the certificate reader. Whatever it
 *  accepts must write out (public and, if present, secret form) and read
 *  back to the same name, role and keys.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cert.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Writes cert in one form and reads it again; aborts on any difference.
static void
s_round_trip (const baton_cert_t *cert, bool secret)
{
    char text[1024], err[BATON_CERT_ERROR_MAX];
    size_t n = baton__cert_format (cert, secret, text, sizeof text);
    if (n == 0)
        abort (); //  an accepted certificate we cannot write
    baton_cert_t *again = baton__cert_parse (text, n, "again", err, sizeof err);
    if (!again)
        abort (); //  we wrote something we cannot read
    if (baton__cert_role (again) != baton__cert_role (cert) ||
        strcmp (baton__cert_name (again), baton__cert_name (cert)) != 0 ||
        memcmp (baton__cert_public_key (again), baton__cert_public_key (cert), 32) != 0 ||
        strcmp (baton__cert_public_z85 (again), baton__cert_public_z85 (cert)) != 0)
        abort ();
    if (secret && memcmp (baton__cert_secret_key (again), baton__cert_secret_key (cert), 32) != 0)
        abort ();
    if (!secret && baton__cert_secret_key (again))
        abort ();
    baton__cert_destroy (&again);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[BATON_CERT_ERROR_MAX];
    baton_cert_t *cert = baton__cert_parse (data, size, "fuzz", err, sizeof err);
    if (!cert) {
        if (strlen (err) == 0)
            abort (); //  every refusal says why
        return 0;
    }
    s_round_trip (cert, false);
    if (baton__cert_secret_key (cert))
        s_round_trip (cert, true);
    baton__cert_destroy (&cert);
    return 0;
}
