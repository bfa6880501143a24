/* backup.h - an online, consistent copy of the database and its restore, through SQLite's
 * backup API only (issue 23). Both run from connections of their own beside a serving
 * database: a backup is a reader (one read transaction, so the copy is one moment of
 * the database, and the server goes on committing meanwhile); a restore writes the
 * copy's pages into the target through SQLite, which keeps the target's own WAL and locks
 * right, so no file of a database is ever copied, renamed or removed behind SQLite's back
 * (docs/log.md, "Crash guarantee"). The commands and their checks are in cli/backup.c. */
#ifndef OB_STORE_BACKUP_H
#define OB_STORE_BACKUP_H

#include "core/err.h"

/* Copies the database at src into dst, a file that must not exist yet (OB_EINVAL if it
 * does), made with the process's umask. The copy is in rollback-journal mode: one
 * self-contained file, synced, that needs no -wal or -shm to be read. */
ob_status ob_store_backup(const char *src, const char *dst, ob_err *e);

/* Replaces the whole content of the database at dst (created if missing) by that of the
 * database at src, in one transaction of dst; dst stays in WAL mode. The caller makes
 * sure nothing else writes dst (the writer lock, service/hub.h). */
ob_status ob_store_restore(const char *src, const char *dst, ob_err *e);

/* SQLite's integrity_check of the database at path, read-only: OB_OK, or OB_ETAMPER
 * with its first complaint, or OB_EIO when it cannot be read. */
ob_status ob_store_check(const char *path, ob_err *e);

#endif
