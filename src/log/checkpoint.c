/* checkpoint.c - signing and verifying checkpoints and heads (format in checkpoint.h). */
#include "log/checkpoint.h"

#include <sodium.h>
#include <string.h>

/* Ed25519 over a domain-separated message: each kind's sign and verify below. */
static void sign_msg(const uint8_t *m, size_t n, uint8_t sig[OB_LOG_SIG_LEN],
                     const uint8_t sk[OB_LOG_SK_LEN])
{
    crypto_sign_ed25519_detached(sig, NULL, m, n, sk);
}

static bool verify_msg(const uint8_t *m, size_t n, const uint8_t sig[OB_LOG_SIG_LEN],
                       const uint8_t pk[OB_LOG_PK_LEN])
{
    return crypto_sign_ed25519_verify_detached(sig, m, n, pk) == 0;
}

void ob_log_checkpoint_message(const ob_log_checkpoint *cp, uint8_t out[OB_LOG_CP_MSG_LEN])
{
    uint8_t *p = out;
    memcpy(p, OB_LOG_CP_DOMAIN, 22);
    p += 22;
    ob_log_put_u64(p, cp->prev_size);
    ob_log_put_u64(p + 8, cp->size);
    p += 16;
    memcpy(p, cp->root, OB_LOG_HASH_LEN);
    memcpy(p + OB_LOG_HASH_LEN, cp->chain, OB_LOG_HASH_LEN);
    p += 2 * OB_LOG_HASH_LEN;
    ob_log_put_u64(p, (uint64_t)cp->time);
    ob_log_put_u64(p + 8, (uint64_t)cp->max_time);
}

void ob_log_checkpoint_sign(ob_log_checkpoint *cp, const uint8_t sk[OB_LOG_SK_LEN])
{
    uint8_t m[OB_LOG_CP_MSG_LEN];
    ob_log_checkpoint_message(cp, m);
    sign_msg(m, sizeof m, cp->sig, sk);
}

bool ob_log_checkpoint_verify(const ob_log_checkpoint *cp, const uint8_t pk[OB_LOG_PK_LEN])
{
    uint8_t m[OB_LOG_CP_MSG_LEN];
    ob_log_checkpoint_message(cp, m);
    return cp->prev_size < cp->size && verify_msg(m, sizeof m, cp->sig, pk);
}

void ob_log_head_message(const ob_log_head *h, uint8_t out[OB_LOG_HEAD_MSG_LEN])
{
    memcpy(out, OB_LOG_HEAD_DOMAIN, 16);
    ob_log_put_u64(out + 16, h->size);
    memcpy(out + 24, h->chain, OB_LOG_HASH_LEN);
    ob_log_put_u64(out + 24 + OB_LOG_HASH_LEN, (uint64_t)h->time);
}

void ob_log_head_sign(ob_log_head *h, const uint8_t sk[OB_LOG_SK_LEN])
{
    uint8_t m[OB_LOG_HEAD_MSG_LEN];
    ob_log_head_message(h, m);
    sign_msg(m, sizeof m, h->sig, sk);
}

bool ob_log_head_verify(const ob_log_head *h, const uint8_t pk[OB_LOG_PK_LEN])
{
    uint8_t m[OB_LOG_HEAD_MSG_LEN];
    ob_log_head_message(h, m);
    return verify_msg(m, sizeof m, h->sig, pk);
}

void ob_log_expiry_message(const ob_log_expiry *x, uint8_t out[OB_LOG_EXPIRY_MSG_LEN])
{
    memcpy(out, OB_LOG_EXPIRY_DOMAIN, 19);
    ob_log_put_u64(out + 19, x->through);
    ob_log_put_u64(out + 27, (uint64_t)x->cutoff);
    memcpy(out + 35, x->chain, OB_LOG_HASH_LEN);
    ob_log_put_u64(out + 35 + OB_LOG_HASH_LEN, (uint64_t)x->time);
}

void ob_log_expiry_sign(ob_log_expiry *x, const uint8_t sk[OB_LOG_SK_LEN])
{
    uint8_t m[OB_LOG_EXPIRY_MSG_LEN];
    ob_log_expiry_message(x, m);
    sign_msg(m, sizeof m, x->sig, sk);
}

bool ob_log_expiry_verify(const ob_log_expiry *x, const uint8_t pk[OB_LOG_PK_LEN])
{
    uint8_t m[OB_LOG_EXPIRY_MSG_LEN];
    ob_log_expiry_message(x, m);
    return verify_msg(m, sizeof m, x->sig, pk);
}
