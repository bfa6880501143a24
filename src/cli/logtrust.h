/* logtrust.h - the CLI's pieces for checking the access log from its published public
 * keys (witness.c): files, the key file beside the database, consistency, rotation. */
#ifndef OB_CLI_LOGTRUST_H
#define OB_CLI_LOGTRUST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/note.h"

/* The whole file (at most max bytes) NUL-terminated (ob_free), or NULL. */
char *cli_read_file(const char *path, size_t max);
/* Writes text to path atomically (tmp + fsync + rename) with mode. 0 or -1. */
int cli_write_file(const char *path, const char *text, int mode);
/* <db without .db>.log-pub: the log's public keys, one verifier key a line. */
void cli_pub_path(const char *db, char *buf, size_t cap);
int cli_load_log_keys(const char *path, ob_note_key *keys, size_t cap, size_t *n, ob_err *e);
/* Writes the log's public keys beside the database. */
int cli_publish_keys(const char *db, ob_err *e);
int cli_log_consistency(const char *db, uint64_t m, uint64_t n);
int cli_log_rotate_key(const char *db, const char *keypath);
/* `log check --consistency FILE` (with the two notes from the proof or from from_note and
 * to_note) or `log check --checkpoint FILE` (cosigned by wvkey, when given), against the
 * log's keys[0..nk). Prints the verdict; returns the exit code. */
int cli_check_public(const char *cons, const char *cpf, const char *from_note, const char *to_note,
                     const char *wvkey, const ob_note_key *keys, size_t nk);

#endif
