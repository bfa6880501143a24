/* log_common.c - the commit-duration histogram both access-log backends keep (see
 * log_common.h): one definition of its bucket bounds, one way of counting into it. */
#include "store/log_common.h"

#include <stddef.h>

const double ob_log_commit_bucket_le[OB_LOG_COMMIT_BUCKETS] = {0.0005, 0.001, 0.002, 0.003,
                                                               0.005,  0.01,  0.025, 0.1};

void ob_log_count_commit(ob_log_stats *s, int64_t ns)
{
    size_t b = 0;
    while (b < OB_LOG_COMMIT_BUCKETS && (double)ns > ob_log_commit_bucket_le[b] * 1e9)
        b++;
    s->commit_hist[b]++;
    s->commit_ns_sum += (uint64_t)(ns > 0 ? ns : 0);
}
