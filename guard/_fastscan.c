/* The keyword filter's hot paths, each one pass over a str's code points (an optional extension;
 * guard/fastscan.py loads it, and the numpy code paths run where it was not built).
 *
 * find():        the prefilter's question, does a term occur in this view of the text (guard/normalize.py
 *                quick_codes: table lookup, dropped characters removed, repeats collapsed)? The view's
 *                grams hashed and looked up in guard/prefilter.py's tables, a set bit confirmed
 *                against the terms keyed on it: Prefixes.any_match's answer without the automaton.
 * occurrences(): the same over a view's codes, every occurrence (Prefixes.matches), for the exact path.
 * near():        find() over the windows of a view around marked characters (the quick leet view
 *                around the characters it reads unlike the quick view, for the leet check).
 * gates():       guard/decode.py's cheap decoder tests: where each character class has long runs, the
 *                gate marks, tag characters, the letters of the cipher test and their counts
 *                (gate_table() makes its table once).
 * chunk_letter_counts(), letter_fit(): the counts decode.py otherwise gets from numpy, and its
 *                "plainly English" test where it is clear-cut.
 * plausible_runs(): the class runs less those where no base64, hex or char-codes match could decode
 *                to text the decoder accepts (an exact rejection: ordinary words and number tables
 *                are no longer decoded in Python just to be refused).
 * quick_index(): the quick view with each code's original offset, for the exact path.
 * mtime_ns():    os.stat(path).st_mtime_ns without a stat_result (Linux), for the reload check.
 * Each must give exactly what the numpy code gives; tests/test_keywords_fastscan.py holds them to it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define K1 0x9E3779B1u
#define K2 0x85EBCA77u
#define EXP (-2)

typedef struct {
    Py_ssize_t lo, hi;
} Window;

/* Grow *buf (of *cap items of size) to hold need items. */
static int reserve(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t size) {
    if (need <= *cap) return 0;
    Py_ssize_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *p = PyMem_Realloc(*buf, (size_t)n * size);
    if (!p) { PyErr_NoMemory(); return -1; }
    *buf = p;
    *cap = n;
    return 0;
}

/* The codes of a view of text[from:] (a table lookup per character: dropped characters removed,
 * repeats collapsed), appended to codes[n:], until the end or a character to stop at (stop): one
 * that folds to several (EXP), or, in near()'s table, a marked one (STOP). Kept without branches
 * (ordinary text, a space every few letters, would mispredict them); n and last stay in registers.
 * (m >> 31 shifts arithmetically on every compiler CPython builds with; 0u - (m < 0), the portable
 * spelling, measured 9% slower.) */
#define STOP (-3)

typedef struct {
    Py_ssize_t n, stop;
    Py_UCS4 last;
} Fill;

#define FILL_LOOP(T, INDEX)                                                                     \
    {                                                                                           \
        const T *s = data;                                                                      \
        for (i = from; i < len; i++) {                                                          \
            Py_UCS4 cp = s[i];                                                                  \
            int32_t m = (Py_ssize_t)cp < limit ? table[cp] : -1;                                \
            if (m <= EXP) break;                                                                \
            Py_UCS4 drop = (Py_UCS4)(m >> 31); /* all ones where dropped: then as if a repeat */ \
            Py_UCS4 code = (last & drop) | ((Py_UCS4)m & ~drop);                                \
            codes[n] = code;                                                                    \
            INDEX;                                                                              \
            n += code != last;                                                                  \
            last = code;                                                                        \
        }                                                                                       \
    }

#define FILL_KINDS(INDEX)                                                                       \
    Py_ssize_t i;                                                                               \
    if (kind == PyUnicode_1BYTE_KIND) FILL_LOOP(Py_UCS1, INDEX)                                 \
    else if (kind == PyUnicode_2BYTE_KIND) FILL_LOOP(Py_UCS2, INDEX)                            \
    else FILL_LOOP(Py_UCS4, INDEX)                                                              \
    Fill out = {n, i, last};                                                                    \
    return out;

static Fill fill(int kind, const void *data, Py_ssize_t from, Py_ssize_t len, const int32_t *table,
                 Py_ssize_t limit, Py_UCS4 *codes, Py_ssize_t n, Py_UCS4 last) {
    FILL_KINDS((void)0)
}

/* fill(), writing also each kept code's offset in the text to index[] (room as in codes[]; a
 * code not kept writes the next free slot, which the next kept one overwrites). */
static Fill fill_index(int kind, const void *data, Py_ssize_t from, Py_ssize_t len, const int32_t *table,
                       Py_ssize_t limit, Py_UCS4 *codes, int64_t *index, Py_ssize_t n, Py_UCS4 last) {
    FILL_KINDS(index[n] = i)
}
#undef FILL_KINDS
#undef FILL_LOOP

/* Put in the codes that expansions[cp] (a str) stands for, collapsing repeats; room is kept for
 * the rest characters still to come (rest counts cp itself). */
static int expand(PyObject *expansions, Py_UCS4 cp, Py_UCS4 **codes, Py_ssize_t *cap, Py_ssize_t *n,
                  Py_UCS4 *last, Py_ssize_t rest) {
    PyObject *key = PyLong_FromUnsignedLong(cp);
    if (!key) return -1;
    PyObject *parts = PyDict_GetItemWithError(expansions, key);
    Py_DECREF(key);
    if (!parts) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "no expansion for U+%04X", (unsigned)cp);
        return -1;
    }
    if (!PyUnicode_Check(parts)) { PyErr_SetString(PyExc_TypeError, "expansions must be str"); return -1; }
    Py_ssize_t k = PyUnicode_GET_LENGTH(parts);
    if (reserve((void **)codes, cap, *n + k + rest + 1, sizeof(Py_UCS4)) < 0) return -1;
    for (Py_ssize_t j = 0; j < k; j++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(parts, j);
        if (c != *last) (*codes)[(*n)++] = *last = c;
    }
    return 0;
}

/* A view's table, as find() and near() take it: int32 per code point (guard/normalize.py
 * Tables.quick or quick_leet; -1 dropped, EXP see expansions, {code point: str}; in near()'s stops
 * table also STOP). */
typedef struct {
    Py_buffer buf;
    const int32_t *table;
    Py_ssize_t limit;
} Table;

/* The view of text under t (guard/normalize.py quick_codes), in PyMem memory (NULL: an error);
 * *n its length. */
static Py_UCS4 *view_codes(PyObject *text, const Table *t, PyObject *expansions, Py_ssize_t *n) {
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    Py_UCS4 *codes = NULL, last = (Py_UCS4)-1;  /* no view code is (Py_UCS4)-1: the first is never a "repeat" */
    Py_ssize_t cap = 0;
    *n = 0;
    if (reserve((void **)&codes, &cap, len + 1, sizeof(Py_UCS4)) < 0) return NULL;
    for (Py_ssize_t from = 0;;) {
        Fill f = fill(kind, data, from, len, t->table, t->limit, codes, *n, last);
        *n = f.n;
        last = f.last;
        if (f.stop >= len) return codes;
        if (expand(expansions, PyUnicode_READ(kind, data, f.stop), &codes, &cap, n, &last, len - f.stop) < 0) {
            PyMem_Free(codes);
            return NULL;
        }
        from = f.stop + 1;
    }
}

/* The gram tables of guard/prefilter.py Prefixes.packed(): (t2, t4, bits, keys2, keys4). t2, t4:
 * the 2- and 4-gram tables, 2**bits bits each (bits: GRAM_BITS, prefilter.py _BITS, fixed so that
 * the hash's shift is a constant), packed 8 to a byte (bit i is bit i % 8 of byte i / 8); keys2,
 * keys4: {slot: ((at, term), ...)}, the terms keyed on a gram that hashes to slot, with where in
 * the term that gram starts. */
#define GRAM_BITS 20
#define GRAM_SHIFT (32 - GRAM_BITS)

typedef struct {
    Py_buffer t2, t4;
    PyObject *keys2, *keys4;  /* borrowed from the tuple */
} Grams;

static void release_grams(Grams *g) {
    if (g->t2.obj) PyBuffer_Release(&g->t2);
    if (g->t4.obj) PyBuffer_Release(&g->t4);
}

static int take_grams(PyObject *spec, Grams *g) {
    int bits;
    memset(g, 0, sizeof *g);
    if (!PyTuple_Check(spec)) { PyErr_SetString(PyExc_TypeError, "grams must be a tuple"); return -1; }
    if (!PyArg_ParseTuple(spec, "y*y*iO!O!", &g->t2, &g->t4, &bits, &PyDict_Type, &g->keys2, &PyDict_Type,
                          &g->keys4))
        return -1;
    if (bits != GRAM_BITS || g->t2.len < (1 << (GRAM_BITS - 3)) || g->t4.len < (1 << (GRAM_BITS - 3))) {
        release_grams(g);
        PyErr_SetString(PyExc_ValueError, "gram tables must be 2**20 bits");
        return -1;
    }
    return 0;
}

/* The terms keyed on slot of keys (see Grams) that occur in codes[:n] with their gram at c: each
 * one's [start, end) is appended to out, or, where out is NULL, 1 is returned at the first.
 * 0: none; -1: an error (a slot that the table sets but no term is keyed on is one). */
static int confirm(PyObject *keys, uint32_t slot, const Py_UCS4 *codes, Py_ssize_t n, Py_ssize_t c, PyObject *out) {
    PyObject *key = PyLong_FromUnsignedLong(slot);
    if (!key) return -1;
    PyObject *entries = PyDict_GetItemWithError(keys, key);
    Py_DECREF(key);
    if (!entries) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "no term is keyed on gram slot %u", (unsigned)slot);
        return -1;
    }
    if (!PyTuple_Check(entries)) { PyErr_SetString(PyExc_TypeError, "keyed terms must be a tuple"); return -1; }
    for (Py_ssize_t e = 0; e < PyTuple_GET_SIZE(entries); e++) {
        PyObject *entry = PyTuple_GET_ITEM(entries, e);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(entry, 1))) {
            PyErr_SetString(PyExc_TypeError, "a keyed term must be (at, str)");
            return -1;
        }
        PyObject *term = PyTuple_GET_ITEM(entry, 1);
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 0)), len = PyUnicode_GET_LENGTH(term);
        if (at == -1 && PyErr_Occurred()) return -1;
        if (at < 0 || at >= len) { PyErr_SetString(PyExc_ValueError, "a term's gram must start inside it"); return -1; }
        Py_ssize_t start = c - at, k = 0;
        if (start < 0 || start + len > n) continue;
        const int kind = PyUnicode_KIND(term);
        const void *data = PyUnicode_DATA(term);
        while (k < len && codes[start + k] == PyUnicode_READ(kind, data, k)) k++;
        if (k < len) continue;
        if (!out) return 1;
        PyObject *span = Py_BuildValue("(nn)", start, start + len);
        if (!span || PyList_Append(out, span) < 0) { Py_XDECREF(span); return -1; }
        Py_DECREF(span);
    }
    return 0;
}

#define GRAM2(i) (codes[i] * K1 ^ codes[(i) + 1])  /* as prefilter.py _hashes, before the table's hash */
#define SLOT(h) (((h) * K2) >> GRAM_SHIFT)
static const uint8_t BIT[8] = {1, 2, 4, 8, 16, 32, 64, 128};
#define IS_SET(t, i) (t[(i) >> 3] & BIT[(i) & 7])

/* The first c in [c, end) where the 2-gram or the 4-gram starting at c has its bit set (end where
 * none; end <= n - 3). The loop that reads every position: kept small, so that it stays in registers. */
static Py_ssize_t next_set(const Py_UCS4 *codes, Py_ssize_t c, Py_ssize_t end, const uint8_t *t2, const uint8_t *t4) {
    if (c >= end) return end;
    uint32_t ga = GRAM2(c), gb = GRAM2(c + 1);  /* the 2-gram hashes at c and c + 1 */
    for (; c < end; c++) {
        uint32_t gn = GRAM2(c + 2), i2 = SLOT(ga), i4 = SLOT(ga * K1 ^ gn);
        if (IS_SET(t2, i2) | IS_SET(t4, i4)) return c;
        ga = gb;
        gb = gn;
    }
    return end;
}

/* The terms of g whose gram starts in [lo, hi) of codes[:n], each gram hashed as guard/prefilter.py
 * _hashes does and looked up in its table; a set bit is confirmed against the terms keyed there
 * (confirm(): 1 at the first where out is NULL, 0, or -1). A set bit is rare in ordinary text. */
static int grams_in(const Grams *g, const Py_UCS4 *codes, Py_ssize_t n, Py_ssize_t lo, Py_ssize_t hi, PyObject *out) {
    const uint8_t *t2 = (const uint8_t *)g->t2.buf, *t4 = (const uint8_t *)g->t4.buf;
    Py_ssize_t c = lo < 0 ? 0 : lo, end2 = hi < n - 1 ? hi : n - 1, end4 = hi < n - 3 ? hi : n - 3;  /* last starts + 1 */
    int r;
    if (end4 < c) end4 = c;  /* a view too short for a 4-gram: none (next_set never goes back) */
    while ((c = next_set(codes, c, end4, t2, t4)) < end4) {
        uint32_t i2 = SLOT(GRAM2(c)), i4 = SLOT(GRAM2(c) * K1 ^ GRAM2(c + 2));
        if (IS_SET(t2, i2) && (r = confirm(g->keys2, i2, codes, n, c, out)) != 0) return r;
        if (IS_SET(t4, i4) && (r = confirm(g->keys4, i4, codes, n, c, out)) != 0) return r;
        c++;
    }
    for (; c < end2; c++) {  /* the last starts, too near the end for a 4-gram */
        uint32_t i2 = SLOT(GRAM2(c));
        if (IS_SET(t2, i2) && (r = confirm(g->keys2, i2, codes, n, c, out)) != 0) return r;
    }
    return 0;
}
#undef GRAM2
#undef SLOT
#undef IS_SET

/* A view's table (see Table) from the object find(), near() and quick_index() are given. */
static int take_table(PyObject *obj, Table *t) {
    if (PyObject_GetBuffer(obj, &t->buf, PyBUF_SIMPLE) < 0) return -1;
    t->table = (const int32_t *)t->buf.buf;
    t->limit = t->buf.len / (Py_ssize_t)sizeof(int32_t);
    return 0;
}

/* find(text, table, expansions, grams) -> bool: does a term of grams (Prefixes.packed()) occur in
 * the view of text under table? Prefixes.any_match's answer, in one pass over text and one over
 * the view, without the automaton: a gram's set bit is confirmed against the terms keyed on it. */
static PyObject *find(PyObject *self, PyObject *args) {
    PyObject *text, *tobj, *expansions, *spec, *result = NULL;
    Table t;
    Grams g;
    Py_ssize_t n;
    (void)self;
    if (!PyArg_ParseTuple(args, "UOO!O", &text, &tobj, &PyDict_Type, &expansions, &spec)) return NULL;
    if (take_table(tobj, &t) < 0) return NULL;
    if (take_grams(spec, &g) == 0) {
        Py_UCS4 *codes = view_codes(text, &t, expansions, &n);
        int r = codes ? grams_in(&g, codes, n, 0, n, NULL) : -1;
        if (r >= 0) result = PyBool_FromLong(r);
        PyMem_Free(codes);
        release_grams(&g);
    }
    PyBuffer_Release(&t.buf);
    return result;
}

/* occurrences(codes, grams) -> [(start, end), ...]: every occurrence of a term of grams in a view's
 * codes (int32 bytes, guard/normalize.py quick_codes_index), sorted: Prefixes.matches. */
static PyObject *occurrences(PyObject *self, PyObject *args) {
    PyObject *spec, *out = NULL;
    Py_buffer cb;
    Grams g;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O", &cb, &spec)) return NULL;
    if (cb.len % (Py_ssize_t)sizeof(Py_UCS4)) {
        PyErr_SetString(PyExc_ValueError, "codes must be int32");
    } else if (take_grams(spec, &g) == 0) {
        const Py_ssize_t n = cb.len / (Py_ssize_t)sizeof(Py_UCS4);
        out = PyList_New(0);
        if (out && (grams_in(&g, (const Py_UCS4 *)cb.buf, n, 0, n, out) < 0 || PyList_Sort(out) < 0)) Py_CLEAR(out);
        release_grams(&g);
    }
    PyBuffer_Release(&cb);
    return out;
}

/* near(text, table, stops, expansions, reach, grams) -> bool: does a term of grams occur in the
 * view of text under table with its gram inside the windows [v - reach, w + reach) around each
 * marked character, v and w the view's length before and after it? stops: table with the marked
 * characters STOP. Every term that spans a marked character and is at most reach long does
 * (guard/keywords.py _any_leet); a True is always a term that occurs. guard/prefilter.py
 * near_windows and the automaton are the reference. */
static PyObject *near(PyObject *self, PyObject *args) {
    PyObject *text, *tobj, *sobj, *expansions, *spec, *result = NULL;
    Py_ssize_t reach;
    Table t, st;
    Grams g;
    (void)self;
    if (!PyArg_ParseTuple(args, "UOOO!nO", &text, &tobj, &sobj, &PyDict_Type, &expansions, &reach, &spec)) return NULL;
    if (reach < 0) { PyErr_SetString(PyExc_ValueError, "reach must not be negative"); return NULL; }
    if (take_table(tobj, &t) < 0) return NULL;
    if (take_table(sobj, &st) < 0) { PyBuffer_Release(&t.buf); return NULL; }
    if (st.limit != t.limit || take_grams(spec, &g) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "stops must be as long as table");
        PyBuffer_Release(&t.buf);
        PyBuffer_Release(&st.buf);
        return NULL;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    Py_UCS4 *codes = NULL, last = (Py_UCS4)-1;
    Window *win = NULL;
    Py_ssize_t n = 0, cap = 0, nwin = 0, capwin = 0;
    int r = 0;
    if (reserve((void **)&codes, &cap, len + 1, sizeof(Py_UCS4)) < 0) goto done;
    for (Py_ssize_t from = 0;;) {
        Fill f = fill(kind, data, from, len, st.table, st.limit, codes, n, last);
        n = f.n;
        last = f.last;
        if (f.stop >= len) break;
        /* a character that folds to several, or a marked one: put in, then a window around it */
        Py_UCS4 cp = PyUnicode_READ(kind, data, f.stop);  /* below the limit: it stopped the fill */
        int32_t m = t.table[cp];
        Py_ssize_t before = n;
        if (m == EXP) {
            if (expand(expansions, cp, &codes, &cap, &n, &last, len - f.stop) < 0) goto done;
        } else if (m >= 0 && (Py_UCS4)m != last) {
            codes[n++] = last = (Py_UCS4)m;
        }
        if (st.table[cp] == STOP) {
            if (reserve((void **)&win, &capwin, nwin + 1, sizeof(Window)) < 0) goto done;
            win[nwin].lo = before > reach ? before - reach : 0;
            win[nwin++].hi = n + reach;
        }
        from = f.stop + 1;
    }
    /* The windows merged (in order of their starts already), then their grams read. */
    for (Py_ssize_t k = 0; k < nwin && r == 0;) {
        Py_ssize_t lo = win[k].lo, hi = win[k].hi;
        for (k++; k < nwin && win[k].lo <= hi; k++)
            if (win[k].hi > hi) hi = win[k].hi;
        r = grams_in(&g, codes, n, lo, hi < n ? hi : n, NULL);
    }
    if (r >= 0) result = PyBool_FromLong(r);
done:
    PyMem_Free(codes);
    PyMem_Free(win);
    release_grams(&g);
    PyBuffer_Release(&t.buf);
    PyBuffer_Release(&st.buf);
    return result;
}

/* quick_index(text, table, expansions) -> (codes, index): guard/normalize.py quick_codes_index, the
 * quick view's code points (int32 bytes) and for each the offset of the original character it came
 * from (int64 bytes): dropped characters removed, repeats collapsed to their first. For a text
 * where the prefilter found something. */
static PyObject *quick_index(PyObject *self, PyObject *args) {
    PyObject *text, *tobj, *expansions, *result = NULL;
    Table t;
    (void)self;
    if (!PyArg_ParseTuple(args, "UOO!", &text, &tobj, &PyDict_Type, &expansions)) return NULL;
    if (take_table(tobj, &t) < 0) return NULL;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    Py_UCS4 *codes = NULL, last = (Py_UCS4)-1;  /* no view code is (Py_UCS4)-1: the first is never a "repeat" */
    int64_t *index = NULL;
    Py_ssize_t n = 0, cap = 0, capi = 0;
    if (reserve((void **)&codes, &cap, len + 1, sizeof(Py_UCS4)) < 0 ||
        reserve((void **)&index, &capi, cap, sizeof(int64_t)) < 0)
        goto done;
    for (Py_ssize_t from = 0;;) {
        Fill f = fill_index(kind, data, from, len, t.table, t.limit, codes, index, n, last);
        n = f.n;
        last = f.last;
        if (f.stop >= len) break;
        Py_ssize_t before = n;  /* a character that folds to several: each of its codes comes from it */
        if (expand(expansions, PyUnicode_READ(kind, data, f.stop), &codes, &cap, &n, &last, len - f.stop) < 0 ||
            reserve((void **)&index, &capi, cap, sizeof(int64_t)) < 0)
            goto done;
        for (Py_ssize_t j = before; j < n; j++) index[j] = f.stop;
        from = f.stop + 1;
    }
    result = Py_BuildValue("(y#y#)", (const char *)codes, n * (Py_ssize_t)sizeof(Py_UCS4), (const char *)index,
                           n * (Py_ssize_t)sizeof(int64_t));
done:
    PyMem_Free(codes);
    PyMem_Free(index);
    PyBuffer_Release(&t.buf);
    return result;
}

static int is_hex(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

enum { NRUNS = 5 };

/* gates()'s table: per ASCII character one word, made once by gate_table() (guard/decode.py):
 * bits 0..39 the 8-bit lanes of its classes (lane r is 0xFF where it is of class bit r, and a lane
 * in use), bits 48..52 the letter it is (0..25 for a-z of any case, 26 for none), and CLOSER where
 * gates() looks at it again (\ & % and the leet symbols); then ADD (per lane in use, 0x80 - its
 * min_len) and USED (the lanes in use); then the leet bitmap (bit c of byte c >> 3: character c reads
 * as a leet symbol; ASCII ones are CLOSER too). */
enum { GATE_ADD = 128, GATE_USED = 129, GATE_WORDS = 130 };
#define CLOSER ((uint64_t)1 << 56)
#define LETTER_SLOT(e) (((e) >> 48) & 31)

/* The 128-entry class table of gate_table(), copied out of its buffer (released either way). */
static int take_classes(Py_buffer *cls, uint8_t out[128]) {
    if (cls->len < 128) {
        PyBuffer_Release(cls);
        PyErr_SetString(PyExc_ValueError, "classes must have 128 entries");
        return -1;
    }
    memcpy(out, cls->buf, 128);
    PyBuffer_Release(cls);
    return 0;
}

/* gate_table(classes, runs, leet) -> bytes: the table gates() reads. classes: 128 bytes, the class
 * bits of each ASCII character; runs: ((bit, min_len), ...), at most 5 classes, each bit one of
 * 1 << 0 .. 1 << 4, each min_len 1..127; leet: the bitmap of the characters that read as leet
 * symbols (bit c of byte c >> 3; at least 16 bytes, so it covers ASCII). */
static PyObject *gate_table(PyObject *self, PyObject *args) {
    PyObject *spec, *out;
    Py_buffer cls, leet;
    uint8_t classes[128];
    uint64_t table[GATE_WORDS] = {0};
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O!y*", &cls, &PyTuple_Type, &spec, &leet)) return NULL;
    if (take_classes(&cls, classes) < 0) {
        PyBuffer_Release(&leet);
        return NULL;
    }
    if (leet.len < 16) {
        PyBuffer_Release(&leet);
        PyErr_SetString(PyExc_ValueError, "the leet bitmap must cover ASCII (16 bytes)");
        return NULL;
    }
    Py_ssize_t nruns = PyTuple_GET_SIZE(spec);
    if (nruns > NRUNS) { PyErr_SetString(PyExc_ValueError, "too many classes"); return NULL; }
    for (Py_ssize_t r = 0; r < nruns; r++) {
        unsigned b;
        Py_ssize_t min_len;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(spec, r), "In", &b, &min_len)) {
            PyBuffer_Release(&leet);
            return NULL;
        }
        int lane = 0;
        while (lane < NRUNS && b != (1u << lane)) lane++;
        if (lane == NRUNS || min_len < 1 || min_len > 127) {
            PyBuffer_Release(&leet);
            PyErr_SetString(PyExc_ValueError, "each class must be one bit below 1 << 5, its run 1..127 long");
            return NULL;
        }
        table[GATE_ADD] |= (uint64_t)(0x80 - min_len) << (8 * lane);
        table[GATE_USED] |= (uint64_t)0xFF << (8 * lane);
    }
    for (int c = 0; c < 128; c++) {
        int low = c | 0x20;
        for (int r = 0; r < NRUNS; r++)
            if ((classes[c] >> r) & 1) table[c] |= (uint64_t)0xFF << (8 * r);
        table[c] &= table[GATE_USED];
        table[c] |= (uint64_t)(low >= 'a' && low <= 'z' ? low - 'a' : 26) << 48;
        int leet_symbol = (((const uint8_t *)leet.buf)[c >> 3] >> (c & 7)) & 1;
        if (leet_symbol || (c && strchr("\\&%", c))) table[c] |= CLOSER;  /* to look at again */
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(table) + leet.len);
    if (out) {
        memcpy(PyBytes_AS_STRING(out), table, sizeof(table));
        memcpy(PyBytes_AS_STRING(out) + sizeof(table), leet.buf, (size_t)leet.len);
    }
    PyBuffer_Release(&leet);
    return out;
}

/* Append (start, end) to list. */
static int append_span(PyObject *list, Py_ssize_t start, Py_ssize_t end) {
    PyObject *item = Py_BuildValue("(nn)", start, end);
    int rc = item ? PyList_Append(list, item) : -1;
    Py_XDECREF(item);
    return rc;
}

/* Each class's long runs, as gates() finds them: where a lane reaches its class's min_len, the
 * run's end is found by reading on, the run is noted, and the lane is switched off until that end,
 * so that the loop over the text does not look at it again (a long run is rare, the loop is not). */
typedef struct {
    Py_ssize_t min_len[NRUNS], resume[NRUNS];  /* resume: where a lane switched off comes back */
    PyObject *found[NRUNS];                     /* each class's runs, made at its first */
} Runs;

/* The lanes in over reached their min_len at text[i]: note each one's run, to its end (the first
 * character from i + 1 on that is not of its class, by table), and when its lane comes back.
 * Returns the class bits found, -1 where there was no memory. */
static int runs_found(Runs *r, uint64_t over, const uint64_t *table, int kind, const void *data, Py_ssize_t i,
                      Py_ssize_t len) {
    int bits = 0;
    for (int k = 0; k < NRUNS; k++) {
        if (!((over >> (8 * k + 7)) & 1)) continue;
        Py_ssize_t end = i + 1;
        for (Py_UCS4 c; end < len && (c = PyUnicode_READ(kind, data, end)) < 128 && ((table[c] >> (8 * k)) & 1);) end++;
        if (!r->found[k] && !(r->found[k] = PyList_New(0))) return -1;
        if (append_span(r->found[k], i + 1 - r->min_len[k], end) < 0) return -1;
        r->resume[k] = end;
        bits |= 1 << k;
    }
    return bits;
}

/* The lanes (of bits) in the word's layout: 0xFF in each. */
static uint64_t lanes_of(int bits) {
    uint64_t lanes = 0;
    for (int k = 0; k < NRUNS; k++)
        if ((bits >> k) & 1) lanes |= (uint64_t)0xFF << (8 * k);
    return lanes;
}

/* The nearest place a switched-off lane comes back (len + 1: none). */
static Py_ssize_t next_resume(const Runs *r, uint64_t alive, uint64_t used, Py_ssize_t len) {
    Py_ssize_t next = len + 1;
    for (int k = 0; k < NRUNS; k++)
        if ((((used & ~alive) >> (8 * k)) & 1) && r->resume[k] < next) next = r->resume[k];
    return next;
}

/* gates()'s loop over text[i:], in registers (it calls nothing): until the end, a lane that
 * reaches its class's min_len (then g->over holds it and text[i] has been read; the caller notes
 * the run and goes on from i + 1), or stop, where a switched-off lane comes back (text[stop] not
 * read yet). The run lengths of the classes are 8-bit lanes of one word: lane r counts the current
 * run of class bit r; a lane whose run reached its min_len (<= 127) stays off (alive) while that
 * run lasts (runs_found), so no lane grows past its min_len and none carries into the next. */
typedef struct {
    uint64_t runs, over;
    unsigned mask;
    Py_ssize_t extra;  /* the letters str.lower() makes ASCII (U+212A, U+0130) */
    const uint8_t *leet;  /* bit c: character c reads as a leet symbol (guard/normalize.py Tables.leet_marks) */
    Py_UCS4 leet_end;  /* code points from here on are none */
} Gating;

#define GATES_LOOP(T)                                                                           \
    {                                                                                           \
        const T *s = data;                                                                      \
        for (; i < stop; i++) {                                                                 \
            Py_UCS4 c = s[i];                                                                   \
            if (c >= 128) { /* of no class: every run ends */                                   \
                runs = 0;                                                                       \
                if (c < leet_end && ((leet[c >> 3] >> (c & 7)) & 1)) mask |= 0x2000; /* a leet symbol */ \
                if (c - 0xE0000u <= 0xFFFu) mask |= 0x100;                  /* tag characters */ \
                else if (c == 0x212A || c == 0x130) extra++;                                    \
                continue;                                                                       \
            }                                                                                   \
            uint64_t e = table[c];                                                              \
            runs = (runs + ONES) & e & alive;                                                   \
            over = (runs + add) & HIGH;                                                         \
            counts[LETTER_SLOT(e)]++;                                                           \
            if (e & CLOSER) {                                                                   \
                Py_UCS4 next = i + 1 < len ? s[i + 1] : 0;                                      \
                if (c != '\\' && c != '&' && c != '%') mask |= 0x2000; /* a leet symbol */      \
                else if (c == '\\') mask |= next == 'u' || next == 'U' ? 0x200 : next == 'x' ? 0x400 : 0; \
                else if (c == '&') mask |= next == '#' ? 0x1000 : 0;                            \
                else if (i + 5 < len && is_hex(next) && is_hex(s[i + 2]) && s[i + 3] == '%'     \
                         && is_hex(s[i + 4]) && is_hex(s[i + 5]))                               \
                    mask |= 0x800;                                                              \
            }                                                                                   \
            if (over) break;                                                                    \
        }                                                                                       \
    }

static Py_ssize_t gates_run(int kind, const void *data, Py_ssize_t i, Py_ssize_t stop, Py_ssize_t len,
                            const uint64_t *table, uint64_t add, uint64_t alive, int64_t *counts, Gating *g) {
    const uint64_t ONES = 0x0101010101ull, HIGH = 0x8080808080ull;
    uint64_t runs = g->runs, over = 0;
    unsigned mask = g->mask;
    Py_ssize_t extra = g->extra;
    const uint8_t *leet = g->leet;
    const Py_UCS4 leet_end = g->leet_end;
    if (stop > len) stop = len;
    if (kind == PyUnicode_1BYTE_KIND) GATES_LOOP(Py_UCS1)
    else if (kind == PyUnicode_2BYTE_KIND) GATES_LOOP(Py_UCS2)
    else GATES_LOOP(Py_UCS4)
    g->runs = runs;
    g->over = over;
    g->mask = mask;
    g->extra = extra;
    return i;
}
#undef GATES_LOOP

/* gates(text, table) -> (mask, letters, counts, runs); table: gate_table()'s.
 * mask: the bit of each class with a run at least min_len long, and
 *   0x100 tag characters (U+E0000..U+E0FFF, the UTF-8 prefix decode.py tests), 0x200 "\u" or "\U",
 *   0x400 "\x", 0x800 "%HH%HH", 0x1000 "&#", 0x2000 a character that reads as a leet symbol
 *   (guard/normalize.py has_leet_symbols: the table's bitmap).
 * letters: ASCII letters, and U+212A and U+0130 (which str.lower() makes ASCII letters).
 * counts: 26 int64, the ASCII letters a-z of any case.
 * runs: {bit: [(start, end), ...]} for each class in mask, its maximal runs (ASCII characters
 *   only) at least min_len long (decode.py _runs). */
static PyObject *gates(PyObject *self, PyObject *args) {
    PyObject *text, *result = NULL, *found = NULL;
    Py_buffer tb;
    (void)self;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &tb)) return NULL;
    if (tb.len < (Py_ssize_t)(GATE_WORDS * sizeof(uint64_t)) + 16) {
        PyBuffer_Release(&tb);
        PyErr_SetString(PyExc_ValueError, "table must be what gate_table() makes");
        return NULL;
    }
    uint64_t table[GATE_WORDS];
    memcpy(table, tb.buf, sizeof(table));
    const uint64_t add = table[GATE_ADD], used = table[GATE_USED];
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    int64_t counts[32] = {0};  /* 26: not a letter */
    Py_ssize_t letters = 0, resume_at = len + 1;
    uint64_t alive = used;
    const Py_ssize_t leet_bytes = tb.len - (Py_ssize_t)sizeof(table);  /* tb is held to the end: the bitmap */
    Gating g = {0, 0, 0, 0, (const uint8_t *)tb.buf + sizeof(table),
                (Py_UCS4)(8 * (leet_bytes < 0x22000 ? leet_bytes : 0x22000))};  /* 0x22000: all of Unicode */
    Runs r = {0};
    for (int k = 0; k < NRUNS; k++) r.min_len[k] = 0x80 - (Py_ssize_t)((add >> (8 * k)) & 0xFF);
    for (Py_ssize_t i = 0; i < len;) {
        i = gates_run(kind, data, i, resume_at, len, table, add, alive, counts, &g);
        if (g.over) { /* a long run at i: noted, and its lane off until it ends */
            int bits = runs_found(&r, g.over, table, kind, data, i, len);
            if (bits < 0) goto done;
            g.mask |= (unsigned)bits;
            alive &= ~lanes_of(bits);
            g.runs &= alive;
            i++;
        } else if (i < len) { /* at resume_at: the lanes whose long run has ended come back */
            for (int k = 0; k < NRUNS; k++)
                if ((((used & ~alive) >> (8 * k)) & 1) && r.resume[k] <= i) alive |= (uint64_t)0xFF << (8 * k);
        }
        resume_at = next_resume(&r, alive, used, len);
    }
    if (!(found = PyDict_New())) goto done;
    for (int k = 0; k < NRUNS; k++) {
        PyObject *key = r.found[k] ? PyLong_FromUnsignedLong(1u << k) : NULL;
        if (r.found[k] && (!key || PyDict_SetItem(found, key, r.found[k]) < 0)) { Py_XDECREF(key); goto done; }
        Py_XDECREF(key);
    }
    for (int k = 0; k < 26; k++) letters += counts[k];
    result = Py_BuildValue("Iny#O", g.mask, letters + g.extra, (const char *)counts, (Py_ssize_t)(26 * sizeof(int64_t)),
                           found);
done:
    PyBuffer_Release(&tb);
    Py_XDECREF(found);
    for (int k = 0; k < NRUNS; k++) Py_XDECREF(r.found[k]);
    return result;
}


/* Decoded bytes, read one at a time, for an exact rejection: could they be text that decode.py's
 * _readable(_utf8_or_gbk(data)) accepts? Not where they are neither UTF-8 (checked for its structure
 * only: lead and continuation bytes) nor GBK (every byte from 0x80 needs a trail byte 0x40..0xFE
 * other than 0x7F, which tests/test_keywords_fastscan.py checks of Python's codec), nor where their
 * control characters (below 0x20 but tab and newline, and 0x7F: themselves in both encodings, and
 * never a GBK trail byte) are more than a tenth of the bytes (so more than a tenth of the
 * characters), nor where ASCII letters and non-ASCII bytes are fewer than 3 together (_readable
 * wants 3 letters). Anything else may be text: Python decides. */
typedef struct {
    Py_ssize_t n, ctrl, letters;
    int utf8, gbk, need, trail;  /* need: UTF-8 continuation bytes due; trail: a GBK trail byte due */
} Bytes;

static const Bytes BYTES0 = {0, 0, 0, 1, 1, 0, 0};

static void push(Bytes *st, unsigned b) {
    st->n++;
    if (b < 0x20 ? (b != '\t' && b != '\n') : b == 0x7F) st->ctrl++;
    if (b >= 0x80 || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z')) st->letters++;
    if (st->need) {
        if ((b & 0xC0) == 0x80) st->need--;
        else st->utf8 = 0, st->need = 0;
    } else if (b >= 0x80) {
        if (b >= 0xC0 && b < 0xE0) st->need = 1;
        else if (b >= 0xE0 && b < 0xF0) st->need = 2;
        else if (b >= 0xF0 && b < 0xF8) st->need = 3;
        else st->utf8 = 0;
    }
    if (st->trail) {
        if (b < 0x40 || b == 0x7F || b == 0xFF) st->gbk = 0;
        st->trail = 0;
    } else if (b >= 0x80) {
        st->trail = 1;
    }
}

static int maybe_text(const Bytes *st) {
    return ((st->utf8 && !st->need) || (st->gbk && !st->trail)) && 10 * st->ctrl <= st->n && st->letters >= 3;
}

static int b64_value(Py_UCS4 c) {
    if (c >= 'A' && c <= 'Z') return (int)(c - 'A');
    if (c >= 'a' && c <= 'z') return (int)(c - 'a') + 26;
    if (c >= '0' && c <= '9') return (int)(c - '0') + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Could the base64 run s[start:end] ('=' free, as decode.py's regex reads a run) decode to text
 * that decode.py _base64 accepts? 0 only where it surely does not: the run fails _base64's
 * "not a word" test, or its length is 1 more than a multiple of 4 (b64decode refuses it), or its
 * bytes cannot be text (maybe_text). Both alphabets give '+' and '-' the value 62, '/' and '_' 63. */
static int b64_plausible(int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t len = end - start;
    if (len % 4 == 1) return 0;
    int lower = 0, upper = 0, other = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 'a' && c <= 'z') lower = 1;
        else if (c >= 'A' && c <= 'Z') upper = 1;
        else other = 1;  /* a digit, + / _ - */
    }
    if (!other && !(lower && upper)) return 0;
    Py_ssize_t n = len * 6 / 8;
    Bytes st = BYTES0;
    uint32_t acc = 0;
    int bits = 0;
    for (Py_ssize_t i = start; i < end && st.n < n; i++) {
        acc = (acc << 6) | (uint32_t)b64_value(PyUnicode_READ(kind, data, i));
        bits += 6;
        if (bits < 8) continue;
        bits -= 8;
        push(&st, (acc >> bits) & 0xFF);
    }
    return maybe_text(&st);
}

static int hex_value(Py_UCS4 c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (int)((c | 0x20) - 'a') + 10;
    return -1;
}

/* Could some match of decode.py's hex regex in the run s[a:b] (hex digits and ' ', ':', ',', no
 * 'x') decode to accepted text? A match starts and ends at the ends of runs of hex digits (its
 * lookarounds), holds only even runs (an odd one leaves a digit no pair takes), at most one
 * separator between two, and 8 pairs or more; its bytes are the pairs. Every such stretch of runs
 * is tried (maybe_text); 1 where one might be text, or where the run is too long to try them all. */
static int hex_plausible(int kind, const void *data, Py_ssize_t a, Py_ssize_t b) {
    if (b - a > 512) return 1;  /* the tries below grow with the square of the run */
    for (Py_ssize_t i = a; i < b; i++) {
        if (hex_value(PyUnicode_READ(kind, data, i)) < 0) continue;
        if (i > a && hex_value(PyUnicode_READ(kind, data, i - 1)) >= 0) continue;  /* not a run's start */
        Bytes st = BYTES0;
        Py_ssize_t j = i;
        for (;;) {
            Py_ssize_t e = j;
            while (e < b && hex_value(PyUnicode_READ(kind, data, e)) >= 0) e++;
            if ((e - j) % 2) break;
            for (Py_ssize_t k = j; k < e; k += 2)
                push(&st, (unsigned)(hex_value(PyUnicode_READ(kind, data, k)) * 16 + hex_value(PyUnicode_READ(kind, data, k + 1))));
            if (st.n >= 8 && maybe_text(&st)) return 1;
            /* the next run, if one separator leads to it */
            if (e + 1 >= b || hex_value(PyUnicode_READ(kind, data, e + 1)) < 0) break;
            j = e + 1;
        }
    }
    return 0;
}

/* Could some match of decode.py's char-codes regex in the run s[a:b] (ASCII digits and ' ', ',', ';')
 * decode to accepted text? A match is 4 or more whole numbers in a row (its lookarounds and
 * separators), each of 2 to 6 digits, and _char_codes refuses any below 9; it accepts a match of m
 * numbers only where no more than a tenth of their characters are unprintable (tab and newline
 * aside) and max(3, m // 2) are letters (str.isalpha, str.isprintable per character). Every such
 * row of numbers is tried; 1 where one might pass, or where the run holds too many to try all. */
static int codes_plausible(int kind, const void *data, Py_ssize_t a, Py_ssize_t b) {
    enum { MAXN = 256 };  /* numbers tried; the tries grow with their square */
    int alpha[MAXN], bad[MAXN];  /* per number: a letter; unprintable (or -1: it breaks every match) */
    Py_ssize_t m = 0;
    for (Py_ssize_t i = a; i < b;) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < '0' || c > '9') { i++; continue; }
        Py_ssize_t e = i;
        long value = 0;
        while (e < b && (c = PyUnicode_READ(kind, data, e)) >= '0' && c <= '9') {
            if (e - i < 7) value = value * 10 + (long)(c - '0');
            e++;
        }
        if (m == MAXN) return 1;
        if (e - i < 2 || e - i > 6 || value < 9) {
            bad[m] = -1;
            alpha[m] = 0;
        } else {
            Py_UCS4 ch = (Py_UCS4)value;
            alpha[m] = Py_UNICODE_ISALPHA(ch) ? 1 : 0;
            bad[m] = !Py_UNICODE_ISPRINTABLE(ch) && ch != '\t' && ch != '\n';
        }
        m++;
        i = e;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_ssize_t letters = 0, unprintable = 0;
        for (Py_ssize_t j = i; j < m && bad[j] >= 0; j++) {
            letters += alpha[j];
            unprintable += bad[j];
            Py_ssize_t count = j - i + 1, need = count / 2 > 3 ? count / 2 : 3;
            if (count >= 4 && 10 * unprintable <= count && letters >= need) return 1;
        }
    }
    return 0;
}

/* plausible_runs(text, runs, min_len, which) -> [(start, end), ...]: the runs (gates() gives
 * them), less those where no match of the decoder's regex could decode to text it accepts (an
 * exact rejection; Python decodes the rest as before). which: 0 base64 (its regex matches only
 * whole '='-free stretches of min_len or more: b64_plausible), 1 hex (hex_plausible; a run holding
 * 'x' is kept), 2 char-codes (codes_plausible). */
static PyObject *plausible_runs(PyObject *self, PyObject *args) {
    PyObject *text, *runs;
    Py_ssize_t min_len;
    int which;
    (void)self;
    if (!PyArg_ParseTuple(args, "UO!ni", &text, &PyList_Type, &runs, &min_len, &which)) return NULL;
    if (which < 0 || which > 2) { PyErr_SetString(PyExc_ValueError, "which must be 0, 1 or 2"); return NULL; }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t r = 0; r < PyList_GET_SIZE(runs); r++) {
        PyObject *run = PyList_GET_ITEM(runs, r);
        Py_ssize_t a, b;
        if (!PyArg_ParseTuple(run, "nn", &a, &b)) { Py_DECREF(out); return NULL; }
        if (a < 0 || a > b || b > len) {
            PyErr_SetString(PyExc_ValueError, "a run must lie inside the text");
            Py_DECREF(out);
            return NULL;
        }
        int keep = 0;
        if (which == 0) {
            for (Py_ssize_t s = a; s < b && !keep;) {
                Py_ssize_t e = s;
                while (e < b && PyUnicode_READ(kind, data, e) != '=') e++;
                if (e - s >= min_len) keep = b64_plausible(kind, data, s, e);
                s = e + 1;
            }
        } else if (which == 1) {
            for (Py_ssize_t i = a; i < b && !keep; i++) keep = PyUnicode_READ(kind, data, i) == 'x';
            keep = keep || hex_plausible(kind, data, a, b);
        } else {
            keep = codes_plausible(kind, data, a, b);
        }
        if (keep && PyList_Append(out, run) < 0) { Py_DECREF(out); return NULL; }
    }
    return out;
}

/* letter_fit(counts, inverse_expected, constant) -> (letters, english)
 * counts: 26 int64, the ASCII letters a-z of any case (gates()); letters: their
 * sum; english: True where decode.py's test that the letter
 * frequencies fit unshifted English better than twice any shift or Atbash,
 *     2 * fits[0] < fits[1:].min(), fits = (freq * freq) @ inverse_expected + constant,
 * holds by a margin far beyond rounding (False: undecided here, numpy decides).
 * inverse_expected: 26 x n float64, row-major (n = 27: 26 shifts and Atbash). */
static PyObject *letter_fit(PyObject *self, PyObject *args) {
    Py_buffer cb, inv;
    double constant;
    int64_t counts[26];
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*d", &cb, &inv, &constant)) return NULL;
    const Py_ssize_t cols = inv.len / (Py_ssize_t)(26 * sizeof(double));
    int ok = cb.len == (Py_ssize_t)sizeof(counts) && cols >= 2 && inv.len == cols * 26 * (Py_ssize_t)sizeof(double);
    if (ok) memcpy(counts, cb.buf, sizeof(counts));
    PyBuffer_Release(&cb);
    if (!ok) {
        PyBuffer_Release(&inv);
        PyErr_SetString(PyExc_ValueError, "counts must be 26 int64 and inverse_expected 26 rows of float64");
        return NULL;
    }
    int64_t letters = 0;
    for (int k = 0; k < 26; k++) letters += counts[k];
    int english = 0;
    if (letters > 0) {
        const double *e = (const double *)inv.buf;
        double fits0 = 0, best = 0, square[26];
        for (int k = 0; k < 26; k++) {
            double f = (double)counts[k] / (double)letters;
            square[k] = f * f;
        }
        for (Py_ssize_t j = 0; j < cols; j++) {
            double fit = constant;
            for (int k = 0; k < 26; k++) fit += square[k] * e[k * cols + j];
            if (j == 0) fits0 = fit;
            else if (j == 1 || fit < best) best = fit;
        }
        english = 2 * fits0 < best - 1e-9 * (1.0 + fabs(best) + fabs(fits0));
    }
    PyBuffer_Release(&inv);
    return Py_BuildValue("LO", (long long)letters, english ? Py_True : Py_False);
}

/* chunk_letter_counts(text, sample, step) -> bytes: for every chunk of step sampled characters
 * (every sample-th character of the text), 26 int64 counts of ASCII letters a-z of any case
 * (decode.py _cipher_candidates). */
static PyObject *chunk_letter_counts(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t sample, step;
    (void)self;
    if (!PyArg_ParseTuple(args, "Unn", &text, &sample, &step)) return NULL;
    if (sample < 1 || step < 1) { PyErr_SetString(PyExc_ValueError, "sample and step must be positive"); return NULL; }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    const Py_ssize_t sampled = (len + sample - 1) / sample, chunks = (sampled + step - 1) / step;
    PyObject *out = PyBytes_FromStringAndSize(NULL, chunks * 26 * (Py_ssize_t)sizeof(int64_t));
    if (!out) return NULL;
    int64_t *counts = (int64_t *)PyBytes_AS_STRING(out);
    memset(counts, 0, (size_t)chunks * 26 * sizeof(int64_t));
    uint8_t index[128];
    for (int c = 0; c < 128; c++) {
        int low = c | 0x20;
        index[c] = (low >= 'a' && low <= 'z') ? (uint8_t)(low - 'a') : 26;
    }
    for (Py_ssize_t chunk = 0; chunk < chunks; chunk++) {
        int64_t sets[2][27] = {{0}};
        Py_ssize_t end = (chunk + 1) * step < sampled ? (chunk + 1) * step : sampled;
        for (Py_ssize_t m = chunk * step; m < end; m++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, m * sample);
            sets[m & 1][c < 128 ? index[c & 127] : 26]++;
        }
        for (int k = 0; k < 26; k++) counts[chunk * 26 + k] = sets[0][k] + sets[1][k];
    }
    return out;
}

#if defined(__linux__)
#include <sys/stat.h>
/* mtime_ns(path) -> int | None: os.stat(path).st_mtime_ns, or None where os.stat raises OSError;
 * without building a stat_result (the keyword filter asks on every scan whether its folder changed). */
static PyObject *mtime_ns(PyObject *self, PyObject *path) {
    PyObject *bytes = NULL;
    struct stat st;
    int rc;
    (void)self;
    if (!PyUnicode_FSConverter(path, &bytes)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = stat(PyBytes_AS_STRING(bytes), &st);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (rc != 0) Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)st.st_mtim.tv_sec * 1000000000LL + (long long)st.st_mtim.tv_nsec);
}
#endif

static PyMethodDef methods[] = {
    {"find", find, METH_VARARGS, "find(text, table, expansions, grams) -> bool"},
    {"occurrences", occurrences, METH_VARARGS, "occurrences(codes, grams) -> [(start, end), ...]"},
    {"near", near, METH_VARARGS, "near(text, table, stops, expansions, reach, grams) -> bool"},
    {"quick_index", quick_index, METH_VARARGS, "quick_index(text, table, expansions) -> (int32 codes, int64 index) bytes"},
    {"gate_table", gate_table, METH_VARARGS, "gate_table(classes, runs, leet) -> bytes"},
    {"gates", gates, METH_VARARGS, "gates(text, table) -> (mask, letters, counts, runs)"},
    {"letter_fit", letter_fit, METH_VARARGS, "letter_fit(counts, inverse_expected, constant) -> (letters, english)"},
    {"chunk_letter_counts", chunk_letter_counts, METH_VARARGS, "chunk_letter_counts(text, sample, step) -> bytes"},
    {"plausible_runs", plausible_runs, METH_VARARGS, "plausible_runs(text, runs, min_len, which) -> [(start, end), ...]"},
#if defined(__linux__)
    {"mtime_ns", mtime_ns, METH_O, "mtime_ns(path) -> os.stat(path).st_mtime_ns, or None where that raises OSError"},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastscan", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
