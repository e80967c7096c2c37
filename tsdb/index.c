// SPDX-License-Identifier: MIT
/*
 * Series index of one (database, retention policy): the store.
 *
 * A series is a measurement plus tags sorted by key.  Its identity is the
 * InfluxDB escaped series key (`disk\ io,dev=sda\,1`): the measurement with
 * `,` and space escaped, then `,key=value` per tag with `,`, `=` and space
 * escaped.  Keys map to dense ids starting at 1, assigned in creation order
 * (replay recreates each series with the id the WAL recorded).
 *
 * Per measurement the store keeps the field table (key -> type, fixed once
 * set: storage-notes 5.1), the tag keys, and for every (tag key, value) a
 * postings list of series ids.  Postings are appended in id order, so they
 * are sorted without work, except during replay of a series whose id is
 * lower than one already present (defined out of order by concurrent
 * batches); the insertion keeps them sorted.
 *
 * Invariants: (1) by_key and by_id hold the same series; (2) each series is
 * in exactly the postings of its tags and in its measurement's list; (3)
 * series and measurements leave the index only through delete.c (DROP
 * SERIES, DROP MEASUREMENT, DELETE), which parks them until
 * tsdb__store_free, so a pointer found once stays valid.  Locking: the caller holds
 * st->lock as each declaration in tsdb_int.h says.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

struct tsdb__store *tsdb__store_new(struct tsdb *db, uint64_t db_id, uint64_t rp_id)
{
    static _Atomic uint64_t serials;
    struct tsdb__store *st = xcalloc(1, sizeof *st);
    st->serial = atomic_fetch_add(&serials, 1) + 1;
    st->db = db;
    st->db_id = db_id;
    st->rp_id = rp_id;
    pthread_rwlock_init(&st->lock, NULL);
    htab_init(&st->by_key);
    htab_init(&st->meas);
    st->next_id = 1;
    for (size_t i = 0; i < TSDB__STRIPES; i++)
        pthread_mutex_init(&st->stripes[i], NULL);
    return st;
}

static void meas_free(struct tsdb__meas *m)
{
    for (uint32_t i = 0; i < m->nfields; i++) {
        free(m->fieldv[i]->key);
        free(m->fieldv[i]);
    }
    free(m->fieldv);
    htab_fini(&m->fields);
    size_t it = 0;
    const struct htab_entry *en;
    while (htab_next(&m->tagkeys, &it, &en)) {
        struct tsdb__tagkey *tk = en->val;
        size_t it2 = 0;
        const struct htab_entry *en2;
        while (htab_next(&tk->vals, &it2, &en2)) {
            struct tsdb__tagval *tv = en2->val;
            free(tv->ids.v);
            free(tv->val);
            free(tv);
        }
        htab_fini(&tk->vals);
        free(tk->key);
        free(tk);
    }
    htab_fini(&m->tagkeys);
    free(m->series.v);
    free(m->name);
    free(m);
}

void tsdb__store_free(struct tsdb__store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->cap_id; i++) {
        struct tsdb__series *s = st->by_id[i];
        if (!s)
            continue;
        tsdb__head_fini(&s->head);
        free(s->key);
        free(s->tags);
        free(s->blob);
        free(s);
    }
    free(st->by_id);
    tsdb__store_free_dead(st);
    htab_fini(&st->by_key);
    size_t it = 0;
    const struct htab_entry *en;
    while (htab_next(&st->meas, &it, &en))
        meas_free(en->val);
    htab_fini(&st->meas);
    for (size_t i = 0; i < TSDB__STRIPES; i++)
        pthread_mutex_destroy(&st->stripes[i]);
    pthread_rwlock_destroy(&st->lock);
    free(st);
}

/* Escapes `,` and space (measurements), plus `=` when is_tag. */
static int append_escaped(struct buf *out, struct sv s, bool is_tag)
{
    const char *run = s.p;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c != ',' && c != ' ' && !(is_tag && c == '='))
            continue;
        int rc = buf_append(out, run, (size_t)(s.p + i - run));
        if (!rc)
            rc = buf_append_char(out, '\\');
        if (rc)
            return rc;
        run = s.p + i;
    }
    return buf_append(out, run, (size_t)(s.p + s.n - run));
}

int tsdb__series_key(struct buf *out, struct sv meas, const struct tsdb_tag *tags, size_t ntags)
{
    buf_reset(out);
    int rc = append_escaped(out, meas, false);
    for (size_t i = 0; i < ntags && !rc; i++) {
        rc = buf_append_char(out, ',');
        if (!rc)
            rc = append_escaped(out, tags[i].key, true);
        if (!rc)
            rc = buf_append_char(out, '=');
        if (!rc)
            rc = append_escaped(out, tags[i].value, true);
    }
    return rc;
}

static int sv_cmp(struct sv a, struct sv b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

bool tsdb__sort_tags(struct tsdb_tag *tags, size_t ntags)
{
    /* Insertion sort: tag sets are small (tens) and often already sorted. */
    for (size_t i = 1; i < ntags; i++) {
        struct tsdb_tag t = tags[i];
        size_t j = i;
        while (j > 0 && sv_cmp(tags[j - 1].key, t.key) > 0) {
            tags[j] = tags[j - 1];
            j--;
        }
        tags[j] = t;
    }
    for (size_t i = 1; i < ntags; i++)
        if (sv_eq(tags[i - 1].key, tags[i].key))
            return false;
    return true;
}

struct tsdb__series *tsdb__series_find(struct tsdb__store *st, struct sv key, uint64_t h)
{
    return htab_find_h(&st->by_key, key, h);
}

struct tsdb__series *tsdb__series_get(struct tsdb__store *st, uint64_t id)
{
    return id < st->cap_id ? st->by_id[id] : NULL;
}

struct tsdb__meas *tsdb__meas_find(struct tsdb__store *st, struct sv name)
{
    return htab_find(&st->meas, name);
}

struct tsdb__field *tsdb__field_find(struct tsdb__meas *m, struct sv key)
{
    return htab_find(&m->fields, key);
}

struct tsdb__meas *tsdb__meas_get(struct tsdb__store *st, struct sv name)
{
    struct tsdb__meas *m = htab_find(&st->meas, name);
    if (m)
        return m;
    m = xcalloc(1, sizeof *m);
    m->name = xmalloc(name.n + 1);
    memcpy(m->name, name.p, name.n);
    m->name[name.n] = '\0';
    m->n = name.n;
    htab_init(&m->fields);
    htab_init(&m->tagkeys);
    htab_put(&st->meas, (struct sv){ m->name, m->n }, m);
    return m;
}

struct tsdb__field *tsdb__field_create(struct tsdb__meas *m, struct sv key, enum tsdb_type type)
{
    struct tsdb__field *f = xcalloc(1, sizeof *f);
    f->key = xmalloc(key.n + 1);
    memcpy(f->key, key.p, key.n);
    f->key[key.n] = '\0';
    f->key_n = key.n;
    f->type = type;
    if (m->nfields == m->cap_fields) {
        m->cap_fields = m->cap_fields ? m->cap_fields * 2 : 8;
        m->fieldv = xrealloc(m->fieldv, m->cap_fields * sizeof *m->fieldv);
    }
    f->id = m->nfields;
    m->fieldv[m->nfields++] = f;
    htab_put(&m->fields, (struct sv){ f->key, f->key_n }, f);
    return f;
}

void tsdb__idvec_push(struct tsdb__idvec *v, uint64_t id)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    size_t i = v->n++;
    /* Keep ascending order; ids normally arrive ascending (loop skipped). */
    while (i > 0 && v->v[i - 1] > id) {
        v->v[i] = v->v[i - 1];
        i--;
    }
    v->v[i] = id;
}

static void postings_add(struct tsdb__meas *m, const struct tsdb_tag *t, uint64_t id)
{
    struct tsdb__tagkey *tk = htab_find(&m->tagkeys, t->key);
    if (!tk) {
        tk = xcalloc(1, sizeof *tk);
        tk->key = xmalloc(t->key.n + 1);
        memcpy(tk->key, t->key.p, t->key.n);
        tk->key[t->key.n] = '\0';
        tk->n = t->key.n;
        htab_init(&tk->vals);
        htab_put(&m->tagkeys, (struct sv){ tk->key, tk->n }, tk);
    }
    struct tsdb__tagval *tv = htab_find(&tk->vals, t->value);
    if (!tv) {
        tv = xcalloc(1, sizeof *tv);
        tv->val = xmalloc(t->value.n + 1);
        memcpy(tv->val, t->value.p, t->value.n);
        tv->val[t->value.n] = '\0';
        tv->n = t->value.n;
        htab_put(&tk->vals, (struct sv){ tv->val, tv->n }, tv);
    }
    tsdb__idvec_push(&tv->ids, id);
}

struct tsdb__series *tsdb__series_create(struct tsdb__store *st, uint64_t id, struct sv key,
                                         uint64_t h, struct sv meas, const struct tsdb_tag *tags,
                                         size_t ntags)
{
    if (id == 0)
        id = st->next_id;
    if (id >= st->next_id)
        st->next_id = id + 1;
    struct tsdb__series *s = xcalloc(1, sizeof *s);
    s->id = id;
    s->key = xmalloc(key.n + 1);
    memcpy(s->key, key.p, key.n);
    s->key[key.n] = '\0';
    s->key_n = key.n;
    s->meas = tsdb__meas_get(st, meas);

    /* One blob holds the unescaped tag keys and values the views point at. */
    size_t blob_n = 1;
    for (size_t i = 0; i < ntags; i++)
        blob_n += tags[i].key.n + tags[i].value.n;
    s->blob = xmalloc(blob_n);
    s->tags = ntags ? xcalloc(ntags, sizeof *s->tags) : NULL;
    s->ntags = ntags;
    char *p = s->blob;
    for (size_t i = 0; i < ntags; i++) {
        memcpy(p, tags[i].key.p, tags[i].key.n);
        s->tags[i].key = (struct sv){ p, tags[i].key.n };
        p += tags[i].key.n;
        memcpy(p, tags[i].value.p, tags[i].value.n);
        s->tags[i].value = (struct sv){ p, tags[i].value.n };
        p += tags[i].value.n;
    }

    if (id >= st->cap_id) {
        size_t cap = st->cap_id ? st->cap_id : 64;
        while (cap <= id)
            cap *= 2;
        st->by_id = xrealloc(st->by_id, cap * sizeof *st->by_id);
        memset(st->by_id + st->cap_id, 0, (cap - st->cap_id) * sizeof *st->by_id);
        st->cap_id = cap;
    }
    st->by_id[id] = s;
    htab_put_h(&st->by_key, (struct sv){ s->key, s->key_n }, h, s);
    tsdb__idvec_push(&s->meas->series, id);
    for (size_t i = 0; i < ntags; i++)
        postings_add(s->meas, &s->tags[i], id);
    atomic_fetch_add(&st->db->head_series, 1);
    atomic_fetch_add(&st->db->head_bytes,
                     (int64_t)(sizeof *s + key.n + blob_n + ntags * (sizeof *s->tags + 64)));
    return s;
}
