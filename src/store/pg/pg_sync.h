/* pg_sync.h - several servers, one truth (issue 18; R-BLK-5, R-SCALE-1): changes (blocks,
 * consents, relationships: the store's records) written through PostgreSQL and applied by
 * every server to its own in-memory index, with the promise that a change acknowledged by
 * one server is enforced by every server for every request that starts after the
 * acknowledgement.
 *
 * How: each server holds a lease, a row (id, applied, lease_until) that it renews only when
 * it has applied every change committed before the renewal (the renewing UPDATE checks it
 * in the same statement); it answers a request only while its own lease holds, counted on
 * its own monotonic clock from before it sent the renewal, a margin short of the
 * database's lease_until. A writer commits the change, then waits until every server whose
 * lease holds has applied it, reading the leases FOR SHARE, which waits for a renewal in
 * flight and sees its result. So at the acknowledgement every server has applied the
 * change, or its lease has run out and it answers nothing until it has caught up. A server
 * that dies delays acknowledgements by at most one lease. Servers hear of changes by
 * LISTEN/NOTIFY, and poll as well. The waiting for an acknowledgement is one thread's, the
 * acker's, for every change waiting (ob_pgsync_wait_async): the HTTP threads need not wait
 * out a stalled server's lease, and the writers do not queue behind a change waiting.
 *
 * After a failover: a change visible on the old primary before its standby had it may be
 * lost after a server applied it, and its seq given to another. Each change carries a
 * random tag; a server whose applied change is no longer at its place starts over (the
 * config's reset) before it takes a lease again. A renewal takes the changes' lock shared,
 * so a change that commits while it runs either is in its check or waits for its lease.
 *
 * The apply callback runs on the sync thread, changes in commit (seq) order; it must not
 * call back into this module, nor may a waiter's done. Strings passed in are borrowed for the call.
 */
#ifndef OB_STORE_PG_SYNC_H
#define OB_STORE_PG_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

typedef struct ob_pgsync ob_pgsync;

typedef ob_status (*ob_pgsync_apply_fn)(void *ctx, int64_t seq, const char *type, const char *json,
                                        ob_err *e);

typedef struct ob_pgsync_config {
    const char *server_id; /* unique among the servers, e.g. host:port */
    int lease_ms;          /* 0 = 2000: how long a server answers without renewing */
    int margin_ms;         /* 0 = 250: how much sooner than the database it stops */
    bool skip_own;         /* this server applies its own changes when it validates them
                            * (ob_pgsync_catch_up_in_tx): the sync thread counts them, and
                            * does not apply them a second time */
    /* NULL, or called (with the apply's ctx) on the sync thread before each renewal, after
     * the catch-up: while it fails, the lease is not renewed (the server answers nothing)
     * and it is called again within 100 ms. The hub rebuilds its index there when a
     * change failed in a way it could not take out (service/hub_pg.c). */
    ob_status (*ready)(void *ctx, ob_err *e);
    /* NULL, or called (with the apply's ctx, under the appliers' lock) when the order this
     * server applied is no longer the database's: a failover lost changes it had applied
     * (visible on the old primary before its standby had them), and their seqs went to
     * other changes. The owner forgets every change applied; all are then applied again
     * from the first, so the owner must tell what it has (the hub: its records' seq).
     * Without one, the server stops taking leases (it answers nothing) until restarted. */
    ob_status (*reset)(void *ctx, ob_err *e);
    /* Tests only (NULL otherwise): while *stall_ms > 0, a renewal sleeps that long inside
     * its transaction, holding the changes' lock, as a server stopped there would. */
    _Atomic int *stall_ms;
} ob_pgsync_config;

/* Connects twice (the sync thread's connection and the writer's), creates the tables if
 * missing, applies every change there is (the start-up replay) and takes the lease before
 * it returns. *out is freed by ob_pgsync_close. */
ob_status ob_pgsync_open(const char *conninfo, const ob_pgsync_config *cfg,
                         ob_pgsync_apply_fn apply, void *ctx, ob_pgsync **out, ob_err *e);
/* Commits one change and returns once every server whose lease holds has applied it (this
 * one included), or its lease ran out: then it may be acknowledged (ob_pgsync_wait). *seq (may be
 * NULL) is its position. On an error the change may or may not have committed, and must not be
 * acknowledged. Thread-safe. */
ob_status ob_pgsync_change(ob_pgsync *s, const char *type, const char *json, int64_t *seq,
                           ob_err *e);
/* Inside a PostgreSQL transaction on the same database (the log's batch): takes the lock
 * that orders changes, held until that transaction ends, and applies here every change
 * committed before (the apply callback, on this thread). After it, this server's index has
 * every change before the one the caller is about to write, and no server can commit
 * another until the caller's transaction ends: the caller validates its change against
 * that state (block and consent ids assigned from it are every server's), applies it to its
 * index (with skip_own) and writes it with ob_pgsync_change_in_tx. */
ob_status ob_pgsync_catch_up_in_tx(ob_pgsync *s, ob_store_tx *tx, ob_err *e);
/* The change written inside another's PostgreSQL transaction on the same database (the
 * log's batch, so that the change, its log entry and its place in every server's order
 * commit together: ob_pglog_append_change's apply): *seq (may be NULL) is its position.
 * It is not acknowledged yet: after that transaction commits, ob_pgsync_wait(seq) or
 * ob_pgsync_wait_async. */
ob_status ob_pgsync_change_in_tx(ob_pgsync *s, ob_store_tx *tx, const char *type, const char *json,
                                 int64_t *seq, ob_err *e);
/* Returns once every server whose lease holds has applied change seq (this one included),
 * or its lease ran out: then a change committed at seq may be acknowledged. Also needed:
 * this server's own lease holds (it answers nothing without). OB_EIO when that is not so
 * within two leases and a second of the call (a server that holds a lease and does not
 * apply), when the database cannot be reached, or when the close began: the change may have
 * committed, but must not be acknowledged. The waiting is the acker thread's (it reads the
 * leases once a round for every change waiting); no lock a writer needs is held meanwhile,
 * so other changes and ob_pgsync_claim_once go on. Thread-safe. */
ob_status ob_pgsync_wait(ob_pgsync *s, int64_t seq, ob_err *e);
/* The same without blocking, for a transport that suspends the request (the hub's
 * ob_hub_defer, service/hub_pg.c): done is called exactly once, on the acker thread, with
 * OB_OK when change seq may be acknowledged, or OB_EIO and why (err, borrowed for the call),
 * as ob_pgsync_wait would have returned; ob_pgsync_close calls it (OB_EIO) for every waiter
 * left, before it returns. done must not call into this module. If this returns an error,
 * done is never called. */
typedef void (*ob_pgsync_done_fn)(void *ctx, ob_status st, const ob_err *err);
ob_status ob_pgsync_wait_async(ob_pgsync *s, int64_t seq, ob_pgsync_done_fn done, void *ctx,
                               ob_err *e);
/* One write per token across every server (docs/api.md): records digest (of the token's
 * issuer and jti) until `until` (epoch seconds, when the token can no longer verify).
 * *first is true the first time any server records it, false on a replay. Thread-safe. */
ob_status ob_pgsync_claim_once(ob_pgsync *s, const uint8_t digest[32], int64_t until, bool *first,
                               ob_err *e);
/* Whether this server may answer a request starting now: its lease holds. Thread-safe,
 * lock-free. */
bool ob_pgsync_current(const ob_pgsync *s);
/* The position of the last change applied here. */
int64_t ob_pgsync_applied(const ob_pgsync *s);
/* Stops the sync and acker threads, fails every change still waiting (their done, once,
 * OB_EIO) and gives the lease up (other servers stop waiting for this one). No other call
 * may be in progress. */
void ob_pgsync_close(ob_pgsync *s);

#endif
