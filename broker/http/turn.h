/*  turn.h - work owed before the gateway's loop next blocks for I/O: the
 *  envelopes to send to their first hops, the completions of responses that
 *  went out at once, and a drain of the reply socket after a send. Modules
 *  queue it as they go; the owner of the loop does it all in one place, once
 *  per loop turn (one uv_prepare), so the sends of a turn leave together.  */
#ifndef BATON_HTTP_TURN_H
#define BATON_HTTP_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

//  A place in one of the turn's queues, embedded in what is queued.
typedef struct baton_turn_link {
    struct baton_turn_link *next;
    bool queued;
} baton_turn_link_t;

//  A FIFO of links, oldest first.
typedef struct {
    baton_turn_link_t *head, *tail;
} baton_turn_queue_t;

//  Owned by the loop's owner (the gateway), shared by pointer with the modules.
typedef struct {
    uv_prepare_t prepare;       //  active only while work is owed
    uv_prepare_cb run;          //  does the owed work, then stops prepare
    baton_turn_queue_t sends;   //  edge/dispatch.c: envelopes due to a first hop
    baton_turn_queue_t written; //  http/conn.c: completions of responses sent at once
    bool drain_owed;            //  edge/replies.c: a send happened since the last drain
} baton_turn_t;

//  Makes sure turn->run runs before the loop blocks. The prepare handle is
//  active only then, so it never keeps an idle loop alive.
static inline void
baton_turn_owe (baton_turn_t *turn)
{
    if (!uv_is_closing ((uv_handle_t *) &turn->prepare))
        uv_prepare_start (&turn->prepare, turn->run);
}

//  Queues l at the tail of q (l must not be queued) and owes the work.
static inline void
baton_turn_push (baton_turn_t *turn, baton_turn_queue_t *q, baton_turn_link_t *l)
{
    l->queued = true;
    l->next = NULL;
    if (q->tail)
        q->tail->next = l;
    else
        q->head = l;
    q->tail = l;
    baton_turn_owe (turn);
}

//  Takes the oldest link out of q; NULL if q is empty.
static inline baton_turn_link_t *
baton_turn_pop (baton_turn_queue_t *q)
{
    baton_turn_link_t *l = q->head;
    if (l) {
        q->head = l->next;
        if (!q->head)
            q->tail = NULL;
        l->next = NULL;
        l->queued = false;
    }
    return l;
}

//  Takes l out of q if it is there. Rare (what is queued is closing, or went
//  early), and a queue holds at most one loop turn's work: a walk is fine.
static inline void
baton_turn_remove (baton_turn_queue_t *q, baton_turn_link_t *l)
{
    if (!l->queued)
        return;
    baton_turn_link_t *prev = NULL;
    for (baton_turn_link_t *x = q->head; x; prev = x, x = x->next)
        if (x == l) {
            if (prev)
                prev->next = l->next;
            else
                q->head = l->next;
            if (q->tail == l)
                q->tail = prev;
            break;
        }
    l->next = NULL;
    l->queued = false;
}

#endif
