/* The checkpoint file: SQLite on tmpfs, one row per established IKE SA.
 *
 * Why SQLite rather than a file rewritten with rename(): an SA changes at
 * every exchange (message IDs, the cached response, DPD), and at 100,000
 * tunnels rewriting them all per change is out of the question, while a
 * file per SA means 100,000 files and an open/write/rename per change.
 * SQLite gives a per-row replace in one short transaction (~10 us on
 * tmpfs, tests/bench/ckpt_bench.c) with atomicity against SIGKILL at any instant: in WAL mode a
 * commit is one append to the -wal file, and a transaction cut short is
 * ignored on the next open.
 *
 * synchronous=OFF: the file is on tmpfs, where fsync does nothing useful;
 * what must survive is a killed process, and every committed write() is in
 * the kernel's page cache by then. A reboot empties /run anyway (and the
 * kernel SAs with it). secure_delete=ON: a deleted SA's keys are zeroed
 * in the file rather than left in free pages.
 *
 * Validation at open: application_id says "an iked checkpoint", user_version
 * its format; every record carries its own version and CRC (rec.c). */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ike_crypto.h"
#include "iked_checkpoint.h"

/* "MGKP": what PRAGMA application_id holds in a checkpoint. */
#define CKPT_APP_ID 0x4d474b50

struct iked_checkpoint {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
};

static int ckpt_why(char *why, size_t len, const char *what, sqlite3 *db)
{
    snprintf(why, len, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return -1;
}

static int ckpt_pragma_int(sqlite3 *db, const char *sql, int *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* The file exists with mode 0600 before SQLite opens it: SQLite gives its
 * -wal and -shm the database's mode, so all three hold keys for us alone. */
static int ckpt_create_file(const char *path, bool *fresh, char *why, size_t why_len)
{
    struct stat st;
    *fresh = lstat(path, &st) < 0 || st.st_size == 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, why_len, "cannot open: %s", strerror(errno));
        return -1;
    }
    int rc = fchmod(fd, 0600);
    int err = errno;
    close(fd);
    if (rc < 0) {
        snprintf(why, why_len, "cannot make it 0600: %s", strerror(err));
        return -1;
    }
    return 0;
}

static int ckpt_schema(sqlite3 *db, bool fresh, char *why, size_t why_len)
{
    int app = 0, ver = 0;
    if (ckpt_pragma_int(db, "PRAGMA application_id", &app) < 0 ||
        ckpt_pragma_int(db, "PRAGMA user_version", &ver) < 0)
        return ckpt_why(why, why_len, "unreadable", db);
    if (fresh && app == 0 && ver == 0) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "PRAGMA application_id = %d; PRAGMA user_version = %d;"
                 "CREATE TABLE IF NOT EXISTS ike_sa (spi_r INTEGER PRIMARY KEY, rec BLOB NOT "
                 "NULL);",
                 CKPT_APP_ID, IKED_CHECKPOINT_FORMAT);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return ckpt_why(why, why_len, "cannot create", db);
        return 0;
    }
    if (app != CKPT_APP_ID) {
        snprintf(why, why_len, "not an iked checkpoint (application_id %#x)", (unsigned)app);
        return -1;
    }
    if (ver != IKED_CHECKPOINT_FORMAT) {
        snprintf(why, why_len, "format %d, this iked reads %d", ver, IKED_CHECKPOINT_FORMAT);
        return -1;
    }
    return 0;
}

int iked_checkpoint_open(const char *path, struct iked_checkpoint **out, char *why, size_t why_len)
{
    *out = NULL;
    bool fresh;
    if (ckpt_create_file(path, &fresh, why, why_len) < 0)
        return -1;
    struct iked_checkpoint *cp = calloc(1, sizeof(*cp));
    if (!cp)
        return ckpt_why(why, why_len, "cannot open", NULL);
    if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        ckpt_why(why, why_len, "cannot open", cp->db);
        goto fail;
    }
    sqlite3_extended_result_codes(cp->db, 1);
    if (sqlite3_exec(cp->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
                     "PRAGMA secure_delete = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        ckpt_why(why, why_len, "unreadable", cp->db);
        goto fail;
    }
    if (ckpt_schema(cp->db, fresh, why, why_len) < 0)
        goto fail;
    if (sqlite3_prepare_v2(cp->db, "INSERT OR REPLACE INTO ike_sa (spi_r, rec) VALUES (?, ?)", -1,
                           &cp->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cp->db, "DELETE FROM ike_sa WHERE spi_r = ?", -1, &cp->del, NULL) !=
            SQLITE_OK) {
        ckpt_why(why, why_len, "unreadable", cp->db);
        goto fail;
    }
    *out = cp;
    return 0;
fail:
    iked_checkpoint_close(cp);
    return -1;
}

void iked_checkpoint_close(struct iked_checkpoint *cp)
{
    if (!cp)
        return;
    sqlite3_finalize(cp->put);
    sqlite3_finalize(cp->del);
    sqlite3_close(cp->db);
    free(cp);
}

int iked_checkpoint_unlink(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    int rc = 0;
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char p[4096];
        if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p))
            return -ENAMETOOLONG;
        if (unlink(p) < 0 && errno != ENOENT && rc == 0)
            rc = -errno;
    }
    return rc;
}

int iked_checkpoint_put(struct iked_checkpoint *cp, const struct ike_sa *sa)
{
    size_t len = 0;
    uint8_t *rec = iked_checkpoint_rec_encode(sa, &len);
    if (!rec)
        return -ENOMEM;
    sqlite3_bind_int64(cp->put, 1, (sqlite3_int64)sa->spi_r);
    sqlite3_bind_blob(cp->put, 2, rec, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(cp->put);
    sqlite3_reset(cp->put);
    sqlite3_clear_bindings(cp->put);
    ike_crypto_wipe(rec, len);
    free(rec);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int iked_checkpoint_del(struct iked_checkpoint *cp, uint64_t spi_r)
{
    sqlite3_bind_int64(cp->del, 1, (sqlite3_int64)spi_r);
    int rc = sqlite3_step(cp->del);
    sqlite3_reset(cp->del);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int iked_checkpoint_load(struct iked_checkpoint *cp, void (*fn)(struct ike_sa *sa, void *arg),
                         void *arg, char *why, size_t why_len)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cp->db, "SELECT spi_r, rec FROM ike_sa", -1, &st, NULL) != SQLITE_OK)
        return ckpt_why(why, why_len, "unreadable", cp->db);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *rec = sqlite3_column_blob(st, 1);
        int len = sqlite3_column_bytes(st, 1);
        uint64_t key = (uint64_t)sqlite3_column_int64(st, 0);
        char r[160];
        struct ike_sa *sa = rec && len > 0
                                ? iked_checkpoint_rec_decode(rec, (size_t)len, r, sizeof(r))
                                : (snprintf(r, sizeof(r), "an empty record"), NULL);
        if (sa && sa->spi_r != key) {
            snprintf(r, sizeof(r), "a record under another SA's key");
            ike_sa_free(sa);
            sa = NULL;
        }
        if (!sa) {
            snprintf(why, why_len, "IKE SA %016llx: %s", (unsigned long long)key, r);
            ret = -1;
            break;
        }
        fn(sa, arg);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = ckpt_why(why, why_len, "unreadable", cp->db);
    sqlite3_finalize(st);
    return ret;
}

long iked_checkpoint_count(struct iked_checkpoint *cp)
{
    int n = -1;
    if (ckpt_pragma_int(cp->db, "SELECT count(*) FROM ike_sa", &n) < 0)
        return -1;
    return n;
}
