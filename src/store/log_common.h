/* log_common.h - what both access-log backends (store/sqlite/log_sqlite.c,
 * store/pg/log_pg.c) count the same way: the commit-duration histogram of ob_log_stats,
 * whose bucket bounds (ob_log_commit_bucket_le, store/log.h) are defined once in
 * log_common.c so that both link the same array. */
#ifndef OB_STORE_LOG_COMMON_H
#define OB_STORE_LOG_COMMON_H

#include <stdint.h>

#include "store/log.h"

/* Counts one committed transaction whose COMMIT took ns nanoseconds into s's histogram. */
void ob_log_count_commit(ob_log_stats *s, int64_t ns);

#endif
