#include <string.h>

#include "ctl.h"

static void json_sep(struct json_out *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    if (key) {
        fputc('"', j->f);
        fputs(key, j->f);
        fputs("\":", j->f);
    }
}

static void json_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_begin(struct json_out *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
    j->first[0] = true;
}

static void json_open(struct json_out *j, const char *key, char c)
{
    json_sep(j, key);
    fputc(c, j->f);
    if (j->depth < 15)
        j->depth++;
    j->first[j->depth] = true;
}

void json_obj_open(struct json_out *j, const char *key)
{
    json_open(j, key, '{');
}

void json_arr_open(struct json_out *j, const char *key)
{
    json_open(j, key, '[');
}

void json_obj_close(struct json_out *j)
{
    fputc('}', j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_arr_close(struct json_out *j)
{
    fputc(']', j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_str(struct json_out *j, const char *key, const char *v)
{
    json_sep(j, key);
    if (v)
        json_escaped(j->f, v);
    else
        fputs("null", j->f);
}

void json_u64(struct json_out *j, const char *key, unsigned long long v)
{
    json_sep(j, key);
    fprintf(j->f, "%llu", v);
}

void json_bool(struct json_out *j, const char *key, bool v)
{
    json_sep(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_strs(struct json_out *j, const char *key, char *const *v, size_t n)
{
    json_arr_open(j, key);
    for (size_t k = 0; k < n; k++)
        json_str(j, NULL, v[k]);
    json_arr_close(j);
}

void json_null(struct json_out *j, const char *key)
{
    json_sep(j, key);
    fputs("null", j->f);
}

void json_end(struct json_out *j)
{
    fputc('\n', j->f);
}
