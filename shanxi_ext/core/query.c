/*
 * query.c -- row selection: filters (sx_select), word search (sx_search) and
 * the edit distance used to suggest close keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shanxi/core.h"
#include "internal.h"
#include "rowfilter.h"

void
sx_filter_init(sx_filter *f)
{
    f->project = 0;
    for (int c = 0; c < SX_NSTRCOLS; c++)
        f->code[c] = SX_ANY;
    f->since = INT32_MIN;
    f->until = INT32_MAX;
}

/* A row list that grows geometrically, so a selection costs one pass. */
typedef struct rowbuf {
    int64_t *rows;
    int64_t len, cap;
} rowbuf;

static int
rowbuf_reserve(rowbuf *b, int64_t extra, int64_t most)
{
    int64_t need = b->len + extra, cap;
    int64_t *p;
    if (need <= b->cap)
        return 1;
    cap = b->cap < 1024 ? 1024 : b->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > most) /* never more than the table can select */
        cap = most;
    if ((uint64_t)cap > SIZE_MAX / sizeof *p)
        return 0;
    p = realloc(b->rows, (size_t)cap * sizeof *p);
    if (p == NULL)
        return 0;
    b->rows = p;
    b->cap = cap;
    return 1;
}

/* Hand the rows over, trimming a buffer that overshot by a lot. */
static void
rowbuf_finish(rowbuf *b, int64_t **rows, int64_t *n)
{
    if (b->len == 0) {
        free(b->rows);
        b->rows = NULL;
    } else if (b->cap - b->len > b->len / 4 + 1024) {
        int64_t *p = realloc(b->rows, (size_t)b->len * sizeof *p);
        if (p != NULL) /* keeping the larger block is harmless */
            b->rows = p;
    }
    *rows = b->rows;
    *n = b->len;
}

static sx_status
select_all(int64_t nrows, int64_t **rows, int64_t *n)
{
    int64_t *p;
    if (nrows <= 0)
        return SX_OK;
    if ((uint64_t)nrows > SIZE_MAX / sizeof *p)
        return SX_ERR_NOMEM;
    p = malloc((size_t)nrows * sizeof *p);
    if (p == NULL)
        return SX_ERR_NOMEM;
    for (int64_t i = 0; i < nrows; i++)
        p[i] = i;
    *rows = p;
    *n = nrows;
    return SX_OK;
}

sx_status
sx_select(const sx_table *t, const sx_filter *f, int64_t **rows, int64_t *n)
{
    sxf_compiled q;
    rowbuf b = {NULL, 0, 0};
    uint32_t sel[SXF_BLOCK];

    *rows = NULL;
    *n = 0;
    if (t == NULL)
        return SX_ERR_VALUE;
    sxf_compile(&q, t, f);
    if (q.none)
        return SX_OK;
    if (q.all)
        return select_all(t->nrows, rows, n);
    for (int64_t start = 0; start < t->nrows; start += SXF_BLOCK) {
        size_t len = t->nrows - start < SXF_BLOCK ? (size_t)(t->nrows - start) : SXF_BLOCK;
        size_t cnt = sxf_block(&q, start, len, sel);
        if (cnt == 0)
            continue;
        if (!rowbuf_reserve(&b, (int64_t)cnt, t->nrows)) {
            free(b.rows);
            return SX_ERR_NOMEM;
        }
        for (size_t k = 0; k < cnt; k++)
            b.rows[b.len + (int64_t)k] = start + sel[k];
        b.len += (int64_t)cnt;
    }
    rowbuf_finish(&b, rows, n);
    return SX_OK;
}

/* ------------------------------------------------------------------ search */

static unsigned char
fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* One search word, folded, with its Horspool shift table over folded bytes. */
typedef struct needle {
    unsigned char *w;
    size_t len;
    size_t shift[256];
} needle;

static void
needle_init(needle *nd, const char *s, size_t len, unsigned char *store)
{
    for (size_t i = 0; i < len; i++)
        store[i] = fold((unsigned char)s[i]);
    nd->w = store;
    nd->len = len;
    for (size_t i = 0; i < 256; i++)
        nd->shift[i] = len;
    for (size_t i = 0; i + 1 < len; i++)
        nd->shift[store[i]] = len - 1 - i;
}

/* Does h contain the needle, ASCII case ignored?  Horspool keeps a long
 * dictionary scan sublinear in practice; len >= 1 here. */
static int
contains(const unsigned char *h, size_t hn, const needle *nd)
{
    size_t wn = nd->len, pos = 0;
    unsigned char last = nd->w[wn - 1];
    if (wn > hn)
        return 0;
    while (pos <= hn - wn) {
        unsigned char c = fold(h[pos + wn - 1]);
        if (c == last) {
            size_t i = 0;
            while (i + 1 < wn && fold(h[pos + i]) == nd->w[i])
                i++;
            if (i + 1 >= wn)
                return 1;
        }
        pos += nd->shift[c];
    }
    return 0;
}

/* Bit k of masks[code] says whether word k of the current batch occurs in
 * that dictionary string; one byte per code keeps the row scan's random
 * lookups cache-friendly, so words are handled eight at a time. */
#define WORDS_PER_PASS 8

static void
dict_masks(const sx_dict *d, const needle *nd, size_t nw, uint8_t *masks)
{
    for (int32_t code = 0; code < d->count; code++) {
        size_t len;
        const unsigned char *s = (const unsigned char *)sx_dict_str(d, code, &len);
        uint8_t m = 0;
        for (size_t k = 0; k < nw; k++)
            if (contains(s, len, &nd[k]))
                m |= (uint8_t)(1u << k);
        masks[code] = m;
    }
}

/* Per-batch lookup tables: masks for metric codes, label codes (index
 * code + 1, so an empty label is index 0) and projects (by number). */
typedef struct search_tabs {
    uint8_t *metric, *label, *title, *proj;
    int32_t pbase;  /* proj[] covers numbers pbase .. pbase + pspan - 1 */
    uint32_t pspan; /* 0: look projects up by bisection instead */
} search_tabs;

static uint8_t
row_mask(const sx_table *t, const search_tabs *st, int64_t i)
{
    uint8_t m = 0;
    /* a table exists only where its column does (the analyzer cannot see
     * that st->metric and st->label were made from t's columns) */
    if (st->metric != NULL)
        m |= st->metric[sx_code_at(t, SX_COL_METRIC, i)];
    if (st->label != NULL)
        m |= st->label[sx_code_at(t, SX_COL_LABEL, i) + 1];
    if (st->pspan > 0) {
        uint32_t o = (uint32_t)t->project[i] - (uint32_t)st->pbase;
        if (o < st->pspan)
            m |= st->proj[o];
    } else if (st->title != NULL) {
        int32_t p = sx_project_index(t, t->project[i]);
        if (p >= 0)
            m |= st->title[p];
    }
    return m;
}

/* Fill st for words nd[0..nw); returns 0 on allocation failure and *any = 0
 * when no row can match (some word occurs in no field at all). */
static int
search_tabs_fill(const sx_table *t, const needle *nd, size_t nw, search_tabs *st, int *any)
{
    uint8_t seen = 0, full = (uint8_t)((1u << nw) - 1);
    const sx_dict *md = &t->dicts[SX_COL_METRIC], *ld = &t->dicts[SX_COL_LABEL],
                  *td = &t->dicts[SX_COL_PROJECT_TITLE];

    if (st->metric != NULL) {
        dict_masks(md, nd, nw, st->metric);
        for (int32_t k = 0; k < md->count; k++)
            seen |= st->metric[k];
    }
    if (st->label != NULL) {
        st->label[0] = 0;
        dict_masks(ld, nd, nw, st->label + 1);
        for (int32_t k = 0; k < ld->count; k++)
            seen |= st->label[k + 1];
    }
    if (st->title != NULL) {
        uint8_t *tm = NULL;
        /* test each distinct title once, then spread to projects */
        if (td->count > 0) {
            tm = malloc((size_t)td->count);
            if (tm == NULL)
                return 0;
            dict_masks(td, nd, nw, tm);
        }
        for (int32_t p = 0; p < t->nprojects; p++) {
            int32_t code = t->projects[p].title;
            st->title[p] = tm != NULL && code >= 0 && code < td->count ? tm[code] : 0;
            seen |= st->title[p];
        }
        free(tm);
        if (st->pspan > 0) {
            memset(st->proj, 0, st->pspan);
            for (int32_t p = 0; p < t->nprojects; p++)
                st->proj[(uint32_t)t->projects[p].number - (uint32_t)st->pbase] = st->title[p];
        }
    }
    *any = seen == full;
    return 1;
}

sx_status
sx_search(const sx_table *t, const char *const *words, const size_t *words_len, size_t nwords,
          int64_t **rows, int64_t *n)
{
    sx_status st = SX_ERR_NOMEM; /* every failure once memory is taken */
    search_tabs tabs;
    needle *nd = NULL;
    unsigned char *store = NULL;
    size_t *live = NULL, nlive = 0, total = 0;
    rowbuf b = {NULL, 0, 0};
    int first = 1;

    *rows = NULL;
    *n = 0;
    memset(&tabs, 0, sizeof tabs);
    if (t == NULL || (nwords > 0 && (words == NULL || words_len == NULL)))
        return SX_ERR_VALUE;
    if (t->nrows <= 0)
        return SX_OK;

    /* an empty word occurs everywhere, so only the others constrain */
    for (size_t i = 0; i < nwords; i++) {
        if (words_len[i] > 0 && words[i] == NULL)
            return SX_ERR_VALUE;
        nlive += words_len[i] > 0;
        total += words_len[i];
    }
    if (nlive == 0)
        return select_all(t->nrows, rows, n);
    live = malloc(nlive * sizeof *live);
    if (live == NULL)
        goto error;
    nlive = 0;
    for (size_t i = 0; i < nwords; i++)
        if (words_len[i] > 0)
            live[nlive++] = i;

    nd = malloc(WORDS_PER_PASS * sizeof *nd);
    store = malloc(total);
    if (nd == NULL || store == NULL)
        goto error;
    if (t->codes[SX_COL_METRIC] != NULL && t->dicts[SX_COL_METRIC].count > 0 &&
        (tabs.metric = malloc((size_t)t->dicts[SX_COL_METRIC].count)) == NULL)
        goto error;
    if (t->codes[SX_COL_LABEL] != NULL &&
        (tabs.label = malloc((size_t)t->dicts[SX_COL_LABEL].count + 1)) == NULL)
        goto error;
    if (t->nprojects > 0) {
        if ((tabs.title = malloc((size_t)t->nprojects)) == NULL)
            goto error;
        tabs.pspan = sx_dense_project_span(t, &tabs.pbase);
        if (tabs.pspan > 0 && (tabs.proj = malloc(tabs.pspan)) == NULL)
            goto error;
    }

    /* Fold every word once up front, then narrow the rows a batch of words
     * at a time: the first batch scans the table, later ones the survivors. */
    {
        unsigned char *s = store;
        for (size_t i = 0; i < nlive; i++) {
            memcpy(s, words[live[i]], words_len[live[i]]);
            s += words_len[live[i]];
        }
    }
    total = 0; /* now the words' offset in store */
    for (size_t done = 0; done < nlive;) {
        size_t nw = nlive - done < WORDS_PER_PASS ? nlive - done : WORDS_PER_PASS;
        uint8_t full = (uint8_t)((1u << nw) - 1);
        int any;
        /* nw >= 1 since done < nlive; cppcheck 2.10 thinks it can be 0 */
        /* cppcheck-suppress knownConditionTrueFalse */
        for (size_t i = 0; i < nw; i++) {
            size_t len = words_len[live[done + i]];
            needle_init(&nd[i], (const char *)store + total, len, store + total);
            total += len;
        }
        done += nw;
        if (!search_tabs_fill(t, nd, nw, &tabs, &any))
            goto error;
        if (!any) {
            b.len = 0;
            break;
        }
        if (first) {
            first = 0;
            for (int64_t r = 0; r < t->nrows; r++) {
                if (row_mask(t, &tabs, r) != full)
                    continue;
                if (!rowbuf_reserve(&b, 1, t->nrows))
                    goto error;
                b.rows[b.len++] = r;
            }
        } else {
            int64_t m = 0;
            for (int64_t k = 0; k < b.len; k++) {
                b.rows[m] = b.rows[k];
                m += row_mask(t, &tabs, b.rows[k]) == full;
            }
            b.len = m;
        }
        if (b.len == 0)
            break;
    }
    rowbuf_finish(&b, rows, n);
    b.rows = NULL; /* the caller's now */
    st = SX_OK;
error:
    free(b.rows);
    free(tabs.metric);
    free(tabs.label);
    free(tabs.title);
    free(tabs.proj);
    free(store);
    free(nd);
    free(live);
    return st;
}

/* ------------------------------------------------------------------ edit distance */

/* Rows up to this length live on the stack; longer ones are malloc'd. */
#define EDIT_STACK 256

size_t
sx_edit_distance(const char *a, size_t alen, const char *b, size_t blen, size_t limit)
{
    size_t stackrow[EDIT_STACK], *row = stackrow, cap, d;
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    /* keep the row over the shorter string: O(min) memory */
    if (blen > alen) {
        const unsigned char *tp = x;
        size_t tl = alen;
        x = y;
        y = tp;
        alen = blen;
        blen = tl;
    }
    /* the distance never exceeds the longer length, so capping there keeps
     * limit + 1 from ever being computed as a result */
    cap = limit < alen ? limit : alen;
    if (alen - blen > cap)
        return limit + 1;
    if (blen == 0)
        return alen; /* alen <= cap <= limit here */
    if (blen + 1 > EDIT_STACK) {
        if (blen + 1 > SIZE_MAX / sizeof *row || (row = malloc((blen + 1) * sizeof *row)) == NULL)
            return limit + 1;
    }
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0], rowmin;
        unsigned char c = fold(x[i - 1]);
        row[0] = rowmin = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t v = diag + (c != fold(y[j - 1]));
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            diag = row[j];
            row[j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > cap) { /* every later row is at least this */
            if (row != stackrow)
                free(row);
            return limit + 1;
        }
    }
    d = row[blen];
    if (row != stackrow)
        free(row);
    return d <= limit ? d : limit + 1;
}
