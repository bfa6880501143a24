/* walbuf.h - an SQLite VFS that gathers the writes to a WAL file into one buffer.
 *
 * SQLite writes a WAL frame as two write calls (its 24-byte header, then the page), so a
 * commit of n dirty pages costs 2n pwrite system calls. On this project's VMs a system
 * call costs microseconds, and for the access log's large group commits those calls were
 * most of the writer thread's COMMIT. The "ob-walbuf" VFS wraps the default VFS and
 * changes one thing: consecutive writes to a file opened as a WAL are copied into a
 * buffer and written with one pwrite when the buffer is full, when a write is not
 * contiguous, and before anything else touches the file (read, sync, truncate, size,
 * file control, close). Every other file and call goes to the default VFS unchanged.
 *
 * Durability is unchanged: xSync writes the buffer out before it syncs, and SQLite syncs
 * the WAL (synchronous=FULL) before it publishes a commit in the wal-index, so no reader,
 * in this process or another, can see a frame that is still in the buffer. If writing
 * the buffer fails, the call that caused it (at the latest the COMMIT's sync) fails and
 * the transaction is rolled back, as with a failed write today. As a second guard, which
 * also covers commits that are not synced (synchronous=NORMAL), the WAL buffer is
 * written out when its connection's database file gets xShmBarrier (SQLite's call just
 * before it publishes a wal-index header) or xShmLock. */
#ifndef OB_STORE_WALBUF_H
#define OB_STORE_WALBUF_H

#define OB_WALBUF_VFS "ob-walbuf"

/* Registers the VFS (once per process; not as the default). SQLITE_OK or an SQLite
 * error code. Pass OB_WALBUF_VFS to sqlite3_open_v2 afterwards. */
int ob_walbuf_register(void);

#endif
