/* The IKE SA checkpoint (iked/iked_checkpoint*.c): an SA with every field
 * set survives record and file round trips field by field (GCM and
 * CBC+HMAC keys, the IV counters, a CHILD SA with selectors); SK_p and
 * CHILD keying material never reach the record; corrupt, truncated,
 * foreign-version and foreign files are refused; the files are 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <endian.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ike_const.h"
#include "ike_crypto.h"
#include "ike_grant.h"
#include "iked_checkpoint.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mgate-ckpttest-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/iked.checkpoint", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iked_checkpoint_unlink(path);
    rmdir(dir);
    return 0;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* An established SA with every field the checkpoint keeps set to a value
 * of its own, plus SK_p and CHILD keys that must not be kept. */
static struct ike_sa *make_sa(bool gcm, uint64_t spi_r)
{
    struct ike_sa *sa = ike_sa_new();
    assert_non_null(sa);
    sa->spi_i = 0x1122334455667788ull;
    sa->spi_r = spi_r;
    sa->state = IKE_SA_ESTABLISHED;
    struct sockaddr_in *l = (struct sockaddr_in *)&sa->local,
                       *r = (struct sockaddr_in *)&sa->remote;
    l->sin_family = r->sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.1", &l->sin_addr);
    inet_pton(AF_INET, "203.0.113.7", &r->sin_addr);
    l->sin_port = htons(4500);
    r->sin_port = htons(61234);
    sa->natt = true;
    sa->suite =
        gcm ? (ike_suite){IKE_ENCR_AES_GCM_16, 256, 0, IKE_PRF_HMAC_SHA2_384, IKE_DH_ECP_256}
            : (ike_suite){IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, IKE_PRF_HMAC_SHA2_256,
                          IKE_DH_ECP_256};
    sa->keys.prf = sa->suite.prf;
    sa->keys.prf_len = (uint8_t)ike_prf_out_len(sa->suite.prf);
    fill(sa->keys.sk_d, sa->keys.prf_len, 0x10);
    /* SK_p: 0xEE bytes, which no other field holds. */
    memset(sa->keys.sk_pi, 0xee, sizeof(sa->keys.sk_pi));
    memset(sa->keys.sk_pr, 0xee, sizeof(sa->keys.sk_pr));
    const ike_encr_info *ei = ike_crypto_encr_info(sa->suite.encr, sa->suite.encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(sa->suite.integ);
    uint8_t km[40], ik[64];
    fill(km, sizeof(km), 0x20);
    fill(ik, sizeof(ik), 0x30);
    assert_int_equal(ike_sk_dir_init(&sa->keys.sk_i, sa->suite.encr, sa->suite.encr_keybits,
                                     sa->suite.integ, km, ei->key_len + ei->salt_len,
                                     ii ? ik : NULL, ii ? ii->key_len : 0),
                     IKE_CRYPTO_OK);
    fill(km, sizeof(km), 0x40);
    fill(ik, sizeof(ik), 0x50);
    assert_int_equal(ike_sk_dir_init(&sa->keys.sk_r, sa->suite.encr, sa->suite.encr_keybits,
                                     sa->suite.integ, km, ei->key_len + ei->salt_len,
                                     ii ? ik : NULL, ii ? ii->key_len : 0),
                     IKE_CRYPTO_OK);
    atomic_store(&sa->keys.sk_i.next_iv, 17);
    atomic_store(&sa->keys.sk_r.next_iv, 0x123456789ull);
    sa->next_msgid = 5;
    sa->last_msgid = 4;
    sa->last_resp_len = 93;
    sa->last_resp = malloc(sa->last_resp_len);
    fill(sa->last_resp, sa->last_resp_len, 0x60);
    sa->our_next_msgid = 3;
    sa->peer_hash_mask = 0x1c;
    sa->peer_fragmentation = true;
    sa->peer_mobike = true;
    sa->peer_subject = strdup("CN=device-1,O=mgate test");
    snprintf(sa->peer_serial, sizeof(sa->peer_serial), "%s", "0a1b2c3d");
    fill(sa->peer_fpr, sizeof(sa->peer_fpr), 0x70);
    inet_pton(AF_INET, "198.18.0.9", &sa->vip);
    sa->created_ms = 1000;
    sa->established_ms = 1200;
    sa->last_rx_ms = 5000;
    sa->dpd_sent_ms = 6000;
    sa->dpd_tries = 2;
    sa->peer_behind_nat = true;
    sa->mobike = true;
    sa->frag_max = 1252;
    /* The grant in force and the device's TSr (authorization = policyd). */
    sa->authz = calloc(1, sizeof(*sa->authz));
    assert_non_null(sa->authz);
    sa->authz->decided = true;
    sa->authz->grant.decision = IKE_GRANT_QUARANTINE;
    snprintf(sa->authz->grant.reason, sizeof(sa->authz->grant.reason), "%s", "non-compliant");
    sa->authz->grant.device_id = 42;
    sa->authz->grant.generation = 7;
    sa->authz->grant.n_sel = 1;
    sa->authz->grant.sel[0] = (struct ike_grant_sel){AF_INET, {203, 0, 113, 128}, 28, 6, 443};
    sa->authz->tsr = calloc(2, sizeof(*sa->authz->tsr));
    assert_non_null(sa->authz->tsr);
    sa->authz->n_tsr = 2;
    sa->authz->tsr[0] =
        (struct ike_ts){IKE_TS_IPV4_ADDR_RANGE, 0, 0, 65535, {0}, {255, 255, 255, 255}};
    sa->authz->tsr[1] =
        (struct ike_ts){IKE_TS_IPV4_ADDR_RANGE, 17, 53, 53, {10}, {10, 255, 255, 255}};
    struct child_sa *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->spi_in = 0xc0000001;
    c->spi_out = 0xd0000002;
    c->reqid = 0x4d000007;
    c->esp = (struct iked_esp_proposal){IKE_ENCR_AES_GCM_16, 128, 0, true, 0};
    /* CHILD keys: 0xDD bytes, which must not reach the record. */
    memset(c->enc_key_in, 0xdd, sizeof(c->enc_key_in));
    memset(c->enc_key_out, 0xdd, sizeof(c->enc_key_out));
    memset(c->integ_key_in, 0xdd, sizeof(c->integ_key_in));
    memset(c->integ_key_out, 0xdd, sizeof(c->integ_key_out));
    c->enc_key_len = 20;
    c->n_ts_local = 2;
    c->ts_local[0] = (struct ike_child_ts){AF_INET, {10, 1, 0, 0}, 16, 0, 0};
    c->ts_local[1] = (struct ike_child_ts){AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 48, 6, 443};
    c->ts_remote = (struct ike_child_ts){AF_INET, {198, 18, 0, 9}, 32, 0, 0};
    c->installed = true;
    c->installed_ms = 1100;
    sa->child = c;
    return sa;
}

static void assert_same_sk(const ike_sk_dir *a, const ike_sk_dir *b)
{
    assert_int_equal(a->encr, b->encr);
    assert_int_equal(a->encr_keybits, b->encr_keybits);
    assert_int_equal(a->integ, b->integ);
    assert_int_equal(a->encr_key_len, b->encr_key_len);
    assert_int_equal(a->integ_key_len, b->integ_key_len);
    assert_memory_equal(a->encr_key, b->encr_key, a->encr_key_len);
    assert_memory_equal(a->salt, b->salt, sizeof(a->salt));
    assert_memory_equal(a->integ_key, b->integ_key, a->integ_key_len);
    assert_true(atomic_load(&a->next_iv) == atomic_load(&b->next_iv));
}

static void assert_same_sa(const struct ike_sa *a, const struct ike_sa *b)
{
    assert_true(a->spi_i == b->spi_i && a->spi_r == b->spi_r);
    assert_int_equal(b->state, IKE_SA_ESTABLISHED);
    assert_memory_equal(&a->local, &b->local, sizeof(a->local));
    assert_memory_equal(&a->remote, &b->remote, sizeof(a->remote));
    assert_int_equal(a->natt, b->natt);
    assert_memory_equal(&a->suite, &b->suite, sizeof(a->suite));
    assert_int_equal(a->keys.prf, b->keys.prf);
    assert_int_equal(a->keys.prf_len, b->keys.prf_len);
    assert_memory_equal(a->keys.sk_d, b->keys.sk_d, a->keys.prf_len);
    assert_same_sk(&a->keys.sk_i, &b->keys.sk_i);
    assert_same_sk(&a->keys.sk_r, &b->keys.sk_r);
    /* SK_p is not restored. */
    uint8_t zero[sizeof(b->keys.sk_pi)] = {0};
    assert_memory_equal(b->keys.sk_pi, zero, sizeof(zero));
    assert_memory_equal(b->keys.sk_pr, zero, sizeof(zero));
    assert_int_equal(a->next_msgid, b->next_msgid);
    assert_int_equal(a->last_msgid, b->last_msgid);
    assert_int_equal(a->our_next_msgid, b->our_next_msgid);
    assert_int_equal(a->last_resp_len, b->last_resp_len);
    assert_memory_equal(a->last_resp, b->last_resp, a->last_resp_len);
    assert_int_equal(a->peer_hash_mask, b->peer_hash_mask);
    assert_int_equal(a->peer_fragmentation, b->peer_fragmentation);
    assert_int_equal(a->peer_mobike, b->peer_mobike);
    assert_string_equal(a->peer_subject, b->peer_subject);
    assert_string_equal(a->peer_serial, b->peer_serial);
    assert_memory_equal(a->peer_fpr, b->peer_fpr, sizeof(a->peer_fpr));
    assert_int_equal(a->vip.s_addr, b->vip.s_addr);
    assert_true(a->created_ms == b->created_ms && a->established_ms == b->established_ms);
    assert_true(a->last_rx_ms == b->last_rx_ms && a->dpd_sent_ms == b->dpd_sent_ms);
    assert_int_equal(a->dpd_tries, b->dpd_tries);
    assert_true(b->peer_behind_nat && !b->self_behind_nat && b->mobike);
    assert_int_equal(a->frag_max, b->frag_max);
    assert_non_null(b->authz);
    assert_true(b->authz->decided && !b->authz->held);
    assert_memory_equal(&a->authz->grant, &b->authz->grant, sizeof(a->authz->grant));
    assert_int_equal(a->authz->n_tsr, b->authz->n_tsr);
    assert_memory_equal(a->authz->tsr, b->authz->tsr, a->authz->n_tsr * sizeof(*a->authz->tsr));
    assert_false(b->busy || b->id_indexed || b->lease_moved || b->destroy_pending);
    assert_non_null(b->child);
    const struct child_sa *x = a->child, *y = b->child;
    assert_int_equal(x->spi_in, y->spi_in);
    assert_int_equal(x->spi_out, y->spi_out);
    assert_int_equal(x->reqid, y->reqid);
    assert_memory_equal(&x->esp, &y->esp, sizeof(x->esp));
    assert_int_equal(x->n_ts_local, y->n_ts_local);
    assert_memory_equal(x->ts_local, y->ts_local, sizeof(x->ts_local));
    assert_memory_equal(&x->ts_remote, &y->ts_remote, sizeof(x->ts_remote));
    assert_int_equal(x->installed, y->installed);
    assert_true(x->installed_ms == y->installed_ms);
    /* CHILD keying material is not restored. */
    uint8_t z64[64] = {0};
    assert_memory_equal(y->enc_key_in, z64, sizeof(y->enc_key_in));
    assert_memory_equal(y->enc_key_out, z64, sizeof(y->enc_key_out));
    assert_memory_equal(y->integ_key_in, z64, sizeof(y->integ_key_in));
    assert_memory_equal(y->integ_key_out, z64, sizeof(y->integ_key_out));
}

static bool has_run(const uint8_t *p, size_t n, uint8_t v, size_t run)
{
    for (size_t i = 0, k = 0; i < n; i++)
        if ((k = p[i] == v ? k + 1 : 0) >= run)
            return true;
    return false;
}

static void test_record_round_trip(void **state)
{
    (void)state;
    for (int gcm = 0; gcm < 2; gcm++) {
        struct ike_sa *sa = make_sa(gcm, 0x0102030405060708ull);
        size_t len = 0;
        uint8_t *rec = iked_checkpoint_rec_encode(sa, &len);
        assert_non_null(rec);
        assert_false(has_run(rec, len, 0xee, 8)); /* no SK_p */
        assert_false(has_run(rec, len, 0xdd, 8)); /* no CHILD keys */
        char why[160] = "";
        struct ike_sa *back = iked_checkpoint_rec_decode(rec, len, why, sizeof(why));
        if (!back)
            fail_msg("decode: %s", why);
        assert_same_sa(sa, back);
        ike_sa_free(back);
        free(rec);
        ike_sa_free(sa);
    }
}

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static void refresh_crc(uint8_t *rec, size_t len)
{
    uint32_t c = htole32(crc32_ref(rec, len - 4));
    memcpy(rec + len - 4, &c, 4);
}

/* The value of the first top-level field with this tag. */
static uint8_t *field_at(uint8_t *rec, size_t len, uint16_t tag)
{
    for (size_t at = 6; at + 6 <= len - 4;) {
        uint16_t t;
        uint32_t n;
        memcpy(&t, rec + at, 2);
        memcpy(&n, rec + at + 2, 4);
        if (le16toh(t) == tag)
            return rec + at + 6;
        at += 6 + le32toh(n);
    }
    return NULL;
}

static void expect_refused(const uint8_t *rec, size_t len, const char *want)
{
    char why[160] = "";
    struct ike_sa *sa = iked_checkpoint_rec_decode(rec, len, why, sizeof(why));
    if (sa)
        fail_msg("a bad record was accepted (want \"%s\")", want);
    if (!strstr(why, want))
        fail_msg("refused for \"%s\", want \"%s\"", why, want);
}

static void test_record_refused(void **state)
{
    (void)state;
    struct ike_sa *sa = make_sa(true, 0x0102030405060708ull);
    size_t len = 0;
    uint8_t *rec = iked_checkpoint_rec_encode(sa, &len);
    assert_non_null(rec);
    uint8_t *bad = malloc(len + 16);
    assert_non_null(bad);

    /* Every single flipped bit after the header: CRC (or magic/version). */
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, rec, len);
        bad[i] ^= 0x04;
        char why[160];
        struct ike_sa *x = iked_checkpoint_rec_decode(bad, len, why, sizeof(why));
        if (x)
            fail_msg("flipped octet %zu accepted", i);
    }
    /* Truncated at every length (the copy is exactly that long: ASan sees
     * any overread). */
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, rec, n);
        char why[160];
        struct ike_sa *x = iked_checkpoint_rec_decode(t, n, why, sizeof(why));
        free(t);
        if (x)
            fail_msg("record truncated to %zu accepted", n);
    }
    memcpy(bad, rec, len);
    bad[4] = IKED_CHECKPOINT_FORMAT + 1;
    refresh_crc(bad, len);
    expect_refused(bad, len, "record format");
    memcpy(bad, rec, len);
    memcpy(bad, "XXXX", 4);
    expect_refused(bad, len, "not a checkpoint record");
    memcpy(bad, rec, len);
    bad[len - 1] ^= 1;
    expect_refused(bad, len, "CRC");
    /* A field of a newer iked, correctly framed and checksummed. */
    memcpy(bad, rec, len - 4);
    uint8_t extra[] = {0x3f, 0x00, 0x01, 0, 0, 0, 0x42};
    memcpy(bad + len - 4, extra, sizeof(extra));
    refresh_crc(bad, len + sizeof(extra));
    expect_refused(bad, len + sizeof(extra), "unknown field");
    /* A bool that is neither 0 nor 1 (NAT state, tag 5). */
    memcpy(bad, rec, len);
    uint8_t *natt = field_at(bad, len, 5);
    assert_non_null(natt);
    *natt = 2;
    refresh_crc(bad, len);
    expect_refused(bad, len, "bad bool");
    /* A field longer than its member: the first field (SPIi, 8 octets)
     * says 9. */
    memcpy(bad, rec, len);
    bad[6 + 2] = 9;
    refresh_crc(bad, len);
    expect_refused(bad, len, "too long");
    free(bad);
    free(rec);
    ike_sa_free(sa);
}

static void assert_mode_0600(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    if ((st.st_mode & 07777) != 0600)
        fail_msg("%s has mode %o, want 0600", p, (unsigned)(st.st_mode & 07777));
}

struct collect {
    struct ike_sa *v[8];
    size_t n;
};

static void collect(struct ike_sa *sa, void *arg)
{
    struct collect *c = arg;
    if (c->n < 8)
        c->v[c->n++] = sa;
    else
        ike_sa_free(sa);
}

static void collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        ike_sa_free(c->v[i]);
    c->n = 0;
}

static void test_file_round_trip(void **state)
{
    (void)state;
    mode_t old = umask(0); /* the file must be 0600 whatever the umask */
    struct iked_checkpoint *cp;
    char why[256] = "";
    assert_int_equal(iked_checkpoint_open(path, &cp, why, sizeof(why)), 0);
    umask(old);
    struct ike_sa *a = make_sa(true, 0x0a0a0a0a0a0a0a0aull), *b = make_sa(false, 0x0b0b);
    assert_int_equal(iked_checkpoint_put(cp, a), 0);
    assert_int_equal(iked_checkpoint_put(cp, b), 0);
    /* A change replaces the row. */
    b->next_msgid = 9;
    assert_int_equal(iked_checkpoint_put(cp, b), 0);
    assert_int_equal(iked_checkpoint_count(cp), 2);
    assert_mode_0600(path);
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_mode_0600(wal);
    /* Read back while the writer is open (as after a SIGKILL: the -wal
     * holds the rows, nothing was checkpointed into the main file). */
    struct iked_checkpoint *rd;
    assert_int_equal(iked_checkpoint_open(path, &rd, why, sizeof(why)), 0);
    struct collect c = {0};
    assert_int_equal(iked_checkpoint_load(rd, collect, &c, why, sizeof(why)), 0);
    assert_int_equal(c.n, 2);
    for (size_t i = 0; i < c.n; i++)
        assert_same_sa(c.v[i]->spi_r == a->spi_r ? a : b, c.v[i]);
    collect_free(&c);
    iked_checkpoint_close(rd);
    assert_int_equal(iked_checkpoint_del(cp, a->spi_r), 0);
    assert_int_equal(iked_checkpoint_count(cp), 1);
    iked_checkpoint_close(cp);
    assert_int_equal(iked_checkpoint_open(path, &cp, why, sizeof(why)), 0);
    assert_int_equal(iked_checkpoint_load(cp, collect, &c, why, sizeof(why)), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0]->next_msgid, 9);
    collect_free(&c);
    iked_checkpoint_close(cp);
    assert_int_equal(iked_checkpoint_unlink(path), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_not_equal(access(wal, F_OK), 0);
    ike_sa_free(a);
    ike_sa_free(b);
}

/* Opens or loads: one of the two must refuse, with a reason. */
static void expect_file_refused(const char *want)
{
    struct iked_checkpoint *cp = NULL;
    char why[256] = "";
    int rc = iked_checkpoint_open(path, &cp, why, sizeof(why));
    if (rc == 0) {
        struct collect c = {0};
        rc = iked_checkpoint_load(cp, collect, &c, why, sizeof(why));
        collect_free(&c);
        iked_checkpoint_close(cp);
    }
    if (rc == 0)
        fail_msg("a bad checkpoint was accepted (want \"%s\")", want);
    if (!strstr(why, want))
        fail_msg("refused for \"%s\", want \"%s\"", why, want);
}

static void write_file(const char *p, const void *data, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static void make_checkpoint(int n)
{
    struct iked_checkpoint *cp;
    char why[256];
    assert_int_equal(iked_checkpoint_open(path, &cp, why, sizeof(why)), 0);
    for (int i = 1; i <= n; i++) {
        struct ike_sa *sa = make_sa(i & 1, (uint64_t)i);
        assert_int_equal(iked_checkpoint_put(cp, sa), 0);
        ike_sa_free(sa);
    }
    iked_checkpoint_close(cp);
}

static void sql(const char *stmt)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_file_refused(void **state)
{
    (void)state;
    /* Not a database at all. */
    write_file(path, "this is not a checkpoint, just text\n", 36);
    expect_file_refused("not a database");
    iked_checkpoint_unlink(path);
    /* Another program's SQLite database. */
    sql("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    expect_file_refused("not an iked checkpoint");
    iked_checkpoint_unlink(path);
    /* A checkpoint of another format version. */
    make_checkpoint(2);
    sql("PRAGMA user_version = 99;");
    expect_file_refused("format 99");
    iked_checkpoint_unlink(path);
    /* A record damaged inside the database (SQLite cannot tell). */
    make_checkpoint(2);
    sql("UPDATE ike_sa SET rec = substr(rec, 1, 40) || x'00' || substr(rec, 42) WHERE spi_r = 2;");
    expect_file_refused("CRC");
    iked_checkpoint_unlink(path);
    /* Truncated: 40 rows, cut to a third of the file. */
    make_checkpoint(40);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 8192);
    assert_int_equal(truncate(path, st.st_size / 3), 0);
    expect_file_refused("");
    iked_checkpoint_unlink(path);
    /* Cut inside the header page. */
    make_checkpoint(1);
    assert_int_equal(truncate(path, 50), 0);
    expect_file_refused("");
    iked_checkpoint_unlink(path);
}

int main(void)
{
    if (ike_crypto_init() != IKE_CRYPTO_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_refused),
        cmocka_unit_test_setup_teardown(test_file_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_refused, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ike_crypto_fini();
    return rc;
}
