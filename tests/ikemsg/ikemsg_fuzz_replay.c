/* Runs the fuzz target's checks over the seed corpus without libFuzzer, so
 * every build (gcc included) proves the seeds are valid messages that
 * survive the build -> parse -> rebuild -> re-parse round trip. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>
#include <stdint.h>

int fuzz_ike_msg_check(const uint8_t *data, size_t size);

/* Whole file into an exact-size heap buffer (overreads show under ASan). */
static uint8_t *replay_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(size ? (size_t)size : 1);
        if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    unsigned files = 0, bad = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        size_t len = 0;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name) >= (int)sizeof(path))
            continue;
        uint8_t *buf = replay_read(path, &len);
        if (!buf) {
            perror(path);
            bad++;
            continue;
        }
        files++;
        if (!fuzz_ike_msg_check(buf, len)) {
            fprintf(stderr, "seed %s is not a fully valid message\n", de->d_name);
            bad++;
        }
        free(buf);
    }
    closedir(d);
    printf("%u seeds, %u failed\n", files, bad);
    return files == 0 || bad != 0;
}
