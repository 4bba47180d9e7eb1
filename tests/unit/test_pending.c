/*  test_pending.c - the ids the gateway gives its requests: their form, that
 *  a reply finds its request only by the whole id, and that the nonce's
 *  digits are uniform (the guess a forger has to make).  */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "edge/pending.h"

enum { S_IDS = 4000 };

//  True if the len bytes at s are all decimal digits.
static bool
s_digits (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

Test (pending, an_id_is_tag_sequence_and_nonce_and_finds_only_its_request)
{
    baton_pending_t *p = baton_pending_new (16, 0xabcdef12u, NULL);
    cr_assert_str_eq (baton_pending_tag (p), "abcdef12");
    static baton_exchange_t x[3];
    for (int i = 0; i < 3; i++) {
        baton_pending_assign (p, &x[i]);
        baton_pending_add (p, &x[i]);
        char seq[8];
        snprintf (seq, sizeof seq, "%d", i + 1);
        size_t want = 9 + strlen (seq) + BATON_PENDING_NONCE_LEN;
        cr_assert_eq (x[i].id_len, want, "id %s", x[i].id);
        cr_assert_eq (strlen (x[i].id), want);
        cr_assert (strncmp (x[i].id, "abcdef12-", 9) == 0, "id %s", x[i].id);
        cr_assert (strncmp (x[i].id + 9, seq, strlen (seq)) == 0, "id %s", x[i].id);
        cr_assert (s_digits (x[i].id + 9, want - 9), "id %s", x[i].id);
    }
    cr_assert_eq (baton_pending_count (p), 3);
    baton_pending_miss_t why;
    for (int i = 0; i < 3; i++)
        cr_assert_eq (baton_pending_find (p, (baton_slice_t){x[i].id, x[i].id_len}, &why), &x[i]);
    //  The right sequence number with one nonce digit changed is a guess.
    char forged[BATON_PENDING_ID_MAX + 1];
    memcpy (forged, x[1].id, x[1].id_len + 1);
    forged[x[1].id_len - 1] = forged[x[1].id_len - 1] == '0' ? '1' : '0';
    cr_assert_null (baton_pending_find (p, (baton_slice_t){forged, x[1].id_len}, &why));
    cr_assert_eq (why, BATON_PENDING_FORGED);
    //  Shorter by a digit, or another tag: not ours.
    cr_assert_null (baton_pending_find (p, (baton_slice_t){x[1].id, x[1].id_len - 1}, &why));
    memcpy (forged, x[1].id, x[1].id_len + 1);
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    cr_assert_null (baton_pending_find (p, (baton_slice_t){forged, x[1].id_len}, &why));
    cr_assert_eq (why, BATON_PENDING_UNKNOWN);
    //  Done: its id finds nothing, the others still find theirs.
    baton_pending_done (p, &x[1]);
    cr_assert_null (baton_pending_find (p, (baton_slice_t){x[1].id, x[1].id_len}, &why));
    cr_assert_eq (why, BATON_PENDING_UNKNOWN);
    cr_assert_eq (baton_pending_find (p, (baton_slice_t){x[2].id, x[2].id_len}, &why), &x[2]);
    baton_pending_done (p, &x[0]);
    baton_pending_done (p, &x[2]);
    cr_assert_eq (baton_pending_count (p), 0);
    baton_pending_destroy (&p);
    cr_assert_null (p);
}

Test (pending, every_nonce_digit_is_uniform_at_every_position)
{
    baton_pending_t *p = baton_pending_new (16, 1, NULL);
    static unsigned count[BATON_PENDING_NONCE_LEN][10];
    static baton_exchange_t x;
    for (int n = 0; n < S_IDS; n++) {
        memset (&x, 0, sizeof x);
        baton_pending_assign (p, &x);
        const char *nonce = x.id + x.id_len - BATON_PENDING_NONCE_LEN;
        cr_assert (s_digits (nonce, BATON_PENDING_NONCE_LEN), "id %s", x.id);
        for (int i = 0; i < BATON_PENDING_NONCE_LEN; i++)
            count[i][nonce[i] - '0']++;
    }
    //  4000 draws of one digit: 400 expected, a standard deviation of 19;
    //  250..550 is wider than 7 of them, so a fair source never fails it,
    //  and a digit that is never or always drawn (a slip in the mapping)
    //  always does. In total (11600 expected, a deviation of 102): 10800..12400.
    unsigned total[10] = {0};
    for (int i = 0; i < BATON_PENDING_NONCE_LEN; i++)
        for (int d = 0; d < 10; d++) {
            cr_assert (count[i][d] >= 250 && count[i][d] <= 550,
                       "position %d: digit %d drawn %u times of %d", i, d, count[i][d], S_IDS);
            total[d] += count[i][d];
        }
    for (int d = 0; d < 10; d++)
        cr_assert (total[d] >= 10800 && total[d] <= 12400, "digit %d drawn %u times", d, total[d]);
    //  Ids of other messages: "p" and a sequence of their own.
    char other[BATON_PENDING_OTHER_ID_MAX + 1];
    size_t len = baton_pending_other_id (p, other);
    cr_assert (strncmp (other, "00000001-p1", 11) == 0 && len == 11 + BATON_PENDING_NONCE_LEN,
               "id %s", other);
    baton_pending_destroy (&p);
}
