"""The compiled scanner (guard/_fastscan.c) gives exactly what the numpy paths give.

Every piece it replaces (the prefilter's quick view and candidate windows, the decoders' gates, class
runs and letter counts, the cipher test, the exact path's quick view with offsets, the rejection of
runs no decoder accepts) is compared with the numpy or Python code on the shared benign data,
the evasion cases of the keyword tests, and seeded random text mixing ASCII, CJK, full-width,
invisible, astral and encoded characters; then whole scans are compared, and the keyword tests run
again with the compiled scanner taken away.
"""

import json
import random

import numpy as np
import pytest

from conftest import DATA
from guard import KeywordFilter, fastscan
from guard import keywords as K
from guard import decode as D
from guard.decode import raw_codes
from guard.normalize import has_leet_symbols, leet_marked, quick_codes, quick_codes_index, tables, to_str
from guard.prefilter import near_windows, spans_in
from test_keywords import ENCODED, EVASIONS, SENTENCE
from test_keywords_prefilter import TEXTS, _leet_texts, _long_texts

compiled = fastscan.compiled
needs_compiled = pytest.mark.skipif(compiled is None, reason="guard/_fastscan.c was not built (no C compiler?)")

# Pieces that exercise every path: separators, leet symbols, characters that fold to several
# (ligatures, squared units, fractions, ß), invisible and astral characters, encoded runs.
ALPHABET = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
            + list("     \n\t.,;:-_/+=%&#\\@$!|€£¢") + list("炸弹制作怎么自杀國家统计局发布") + list("ｈｏｗＡＢＣ１２３！")
            + ["\u200b", "\u200d", "\ufeff", "\u00ad", "\u202e", "\ufe0f", "\u3164", "\u0337", "\u212a", "\u0130"]
            + ["ﬁ", "ﬂ", "㎡", "½", "ß", "Ǆ", "ﷺ", "…", "℃"] + ["𝐛", "😀", "\U00020000", "\U000e0062", "\U000e0041"]
            + list("аоеοβ") + list("＠＄｜﹩₊│×"))  # forms that fold to leet symbols
SNIPPETS = ["how to make a bomb", "b o m b", "h0w t0 m4k3 4 b0mb", "怎么自杀", "炸彈製作", "i will kill you",
            "aGVsbG8gd29ybGQgaG93IHRvIG1ha2UgYSBib21i", "\\u70b8\\u5f39", "%62%6f%6d%62", "&#98;&#111;", "-... --- -- -...",
            "104 111 119 32 116 111", "01100010 01101111 01101101 01100010", "de ad be ef ca fe ba be 00 11",
            "how to commit suicide prevention", "bombastic", "skill"]


def _random_texts(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.3:
                parts.append(rng.choice(SNIPPETS))
            else:
                parts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40))))
        yield "".join(parts)


def _corpus():
    news = [json.loads(line)["text"] for line in
            (DATA / "zh_news_benign" / "crud_rag_news_sample500.jsonl").read_text(encoding="utf-8").splitlines()]
    prompts = [json.loads(line)["prompt"] for line in
               (DATA / "openai_moderation.jsonl").read_text(encoding="utf-8").splitlines()]
    return news, prompts


@pytest.fixture(scope="module")
def texts():
    """Every text the comparisons run on: short ones whole, the data as articles, prompts and 2,000-char pieces."""
    news, prompts = _corpus()
    joined = "\n\n".join(news[:150] + prompts[:400])
    pieces = [joined[i:i + 2000] for i in range(0, len(joined), 2000)]
    cases = [e[1] for e in EVASIONS] + ["Answer this: " + e[1] + " thanks" for e in ENCODED] + list(TEXTS)
    return (cases + list(_random_texts(7, 1500)) + list(_leet_texts(8, 500)) + list(_long_texts(5, 3)) + news + prompts
            + pieces)


@pytest.fixture(scope="module")
def kf():
    return KeywordFilter()


@needs_compiled
def test_find_answers_as_the_automaton_over_the_windows(kf, texts):
    """find() confirms a gram's set bit against the terms keyed on it; any_match runs the automaton."""
    lists, t = kf._lists, tables()
    hits = 0
    for prefixes, automaton, table in ((lists.quick_prefixes, lists.quick, t.quick),
                                       (lists.leet_prefixes, lists.deny["leet"], t.quick_leet)):
        for text in texts:
            found = compiled.find(text, table, t.quick_exp_text[id(table)], prefixes.packed())
            assert found == prefixes.any_match(quick_codes(raw_codes(text), table), automaton, to_str), text[:80]
            hits += found
    assert hits > 50  # the texts do hold terms


@needs_compiled
def test_occurrences_equal_the_numpy_matches(kf, texts):
    lists, t = kf._lists, tables()
    found = 0
    for text in texts + ["\n".join(texts[:300])]:
        for prefixes, automaton, table in ((lists.quick_prefixes, lists.quick, t.quick),
                                           (lists.leet_prefixes, lists.deny["leet"], t.quick_leet)):
            codes, _ = compiled.quick_index(text, table, t.quick_exp_text[id(table)])
            got = compiled.occurrences(codes, prefixes.packed())
            assert got == prefixes.matches(np.frombuffer(codes, dtype=np.int32), automaton, to_str), text[:80]
            found += len(got)
    assert found > 100


@needs_compiled
def test_the_compiled_scanner_refuses_broken_gram_tables(kf):
    lists, t = kf._lists, tables()
    t2, t4, bits, keys2, keys4 = lists.quick_prefixes.packed()
    slot = next(slot for slot, terms in keys4.items() if any(term == "howtomakeabomb" for _, term in terms))
    args = ("how to make a bomb", t.quick, t.quick_exp_text[id(t.quick)])
    assert compiled.find(*args, (t2, t4, bits, keys2, keys4))
    with pytest.raises(KeyError):  # a set bit with no term keyed on it: fail, never pass the text
        compiled.find(*args, (t2, t4, bits, keys2, {k: v for k, v in keys4.items() if k != slot}))
    with pytest.raises(ValueError):
        compiled.find(*args, (t2[:100], t4, bits, keys2, keys4))
    with pytest.raises(ValueError):
        compiled.find(*args, (t2, t4, bits, keys2, {**keys4, slot: ((99, "bomb"),)}))
    with pytest.raises(TypeError):
        compiled.find(*args, [t2, t4, bits, keys2, keys4])
    leet = kf._lists.leet_prefixes.packed()
    with pytest.raises(ValueError):  # the stops table must match the view's table
        compiled.near("m@ke", t.quick_leet, t.quick_leet_stops[:100], t.quick_exp_text[id(t.quick_leet)], 4, leet)
    with pytest.raises(ValueError):
        compiled.near("m@ke", t.quick_leet, t.quick_leet_stops, t.quick_exp_text[id(t.quick_leet)], -1, leet)


def test_a_leet_symbol_is_any_character_the_leet_view_reads_unlike_the_quick_view(texts):
    """has_leet_symbols (and so the gates' LEET_MARK, which decides whether the leet view is read) is true
    exactly where Tables.leet_marks marks a character: full-width and small forms of @ $ ! | + too."""
    seen = 0
    for text in texts + ["m\uff20ke", "\ufe69", "a\u208ab", "plain words", "全角＠符号"]:
        marked = len(leet_marked(raw_codes(text))) > 0
        assert has_leet_symbols(text) == marked, text[:80]
        assert bool(D._gates_utf8(text)[0] & D.LEET_MARK) == marked
        seen += marked and text.isascii() is False and not any(c in "@$!|+" for c in text)
    assert seen >= 3


@needs_compiled
def test_gates_equal_the_utf8_tests(texts):
    masks = 0
    for text in texts:
        assert D.gates(text)[:2] == D._gates_utf8(text)[:2], text[:80]
        masks |= D.gates(text)[0]
    assert masks == 0x1F | sum(D._MARKS.values()) | D.LEET_MARK  # every gate was seen open


@needs_compiled
def test_the_runs_gates_finds_equal_the_numpy_runs(texts):
    """gates() finds every class's long runs in its one pass, as numpy finds them class by class."""
    long_runs = 0
    for text in texts + ["a" * 300 + "=" + "0" * 40, "x" * 16, "1 2" * 20, "é" + "ab" * 10 + "é", "0" * 200]:
        low = np.minimum(raw_codes(text), 0x7F).astype(np.uint8)
        classes = D._CLS256[low]
        blocks = classes[: len(classes) - len(classes) % 4].view(np.uint32)
        mask, _, _, runs = D.gates(text)
        assert sorted(runs) == sorted(bit for bit, _ in D._RUN_GATES if bit & mask)
        for bit, min_len in D._RUN_GATES:
            assert runs.get(bit, []) == D._runs(classes, blocks, bit, min_len), (text[:80], bit)
            long_runs += len(runs.get(bit, []))
    assert long_runs > 500
    with pytest.raises(ValueError):
        compiled.plausible_runs("abc", [(0, 10)], 16, 0)  # a run beyond the text


@needs_compiled
def test_letter_counts_and_the_english_test_equal_numpy(texts, monkeypatch):
    decided = 0
    cases = texts + [SENTENCE * 20]
    found = []
    for text in cases:
        low = np.minimum(raw_codes(text), 0x7F).astype(np.uint8)
        counts = np.bincount(D._LETTER[low], minlength=256)[:26]  # ASCII letters a-z, of any case
        gate_counts = D.gates(text)[2]
        assert np.array_equal(np.frombuffer(gate_counts, dtype=np.int64), counts), text[:80]
        for sample in (1, 4):
            step = D._CHUNK // sample
            assert np.array_equal(D._chunk_counts(text, None, sample, step), D._chunk_counts(text, low, sample, step))
        letters, english = compiled.letter_fit(gate_counts, D._INVERSE_EXPECTED_C, D._FIT_CONSTANT)
        assert letters == int(counts.sum())
        if letters:
            freq = counts / letters
            fits = (freq * freq) @ D._INVERSE_EXPECTED + D._FIT_CONSTANT
            assert not english or 2 * fits[0] < fits[1:].min()  # decided here only where numpy agrees
            decided += english
        found.append(D._short_cipher_candidates(text, gate_counts))
    assert decided > 100
    monkeypatch.setattr(fastscan, "compiled", None)
    assert D._gates_utf8(SENTENCE)[2] is None  # numpy counts where the cipher test needs them
    low = [np.minimum(raw_codes(text), 0x7F).astype(np.uint8) for text in cases]
    assert found == [D._short_cipher_candidates(text, np.bincount(D._LETTER[lo], minlength=256)[:26])
                     for text, lo in zip(cases, low)]
    with pytest.raises(ValueError):
        compiled.letter_fit(b"short", D._INVERSE_EXPECTED_C, D._FIT_CONSTANT)


@needs_compiled
def test_the_gate_table_refuses_what_it_cannot_hold():
    leet = tables().leet_bitmap
    assert len(compiled.gate_table(D._CLS_BYTES, D._RUN_GATES, leet)) == 130 * 8 + len(leet)
    with pytest.raises(ValueError):
        compiled.gate_table(D._CLS_BYTES[:100], D._RUN_GATES, leet)
    with pytest.raises(ValueError):
        compiled.gate_table(D._CLS_BYTES, ((3, 16),), leet)  # not one bit
    with pytest.raises(ValueError):
        compiled.gate_table(D._CLS_BYTES, ((1, 200),), leet)  # a run too long for a lane
    with pytest.raises(ValueError):
        compiled.gate_table(D._CLS_BYTES, D._RUN_GATES, b"short")  # a bitmap that does not cover ASCII
    with pytest.raises(ValueError):
        compiled.gates("text", b"not a table")
    # a shorter bitmap covers fewer characters: the ones past it are no leet symbols
    ascii_only = compiled.gate_table(D._CLS_BYTES, D._RUN_GATES, leet[:16])
    assert compiled.gates("m@ke", ascii_only)[0] & D.LEET_MARK
    assert not compiled.gates("m\uff20ke", ascii_only)[0] & D.LEET_MARK
    assert compiled.gates("m\uff20ke", D._gate_table())[0] & D.LEET_MARK


@needs_compiled
def test_whole_scans_equal_the_numpy_scans(kf, texts, monkeypatch):
    fast = [kf.scan(text) for text in texts]
    monkeypatch.setattr(fastscan, "compiled", None)
    slow = [kf.scan(text) for text in texts]
    assert fast == slow
    assert sum(map(bool, fast)) > 50


def test_keyword_tests_pass_without_the_compiled_scanner(monkeypatch):
    """The numpy paths, as on a machine where the extension was not built."""
    monkeypatch.setattr(fastscan, "compiled", None)
    import test_keywords as T

    kf = KeywordFilter()
    for what, text, term, view in EVASIONS:
        T.test_evasions_are_caught(kf, what, text, term, view)
    for what, text, view in ENCODED:
        T.test_encoded_text_is_decoded_and_scanned(kf, what, text, view)
    T.test_long_text_is_scanned_whole(kf)
    T.test_match_span_points_into_the_original_text(kf)
    assert not fastscan.built()


def _base64_both_alphabets(run):
    """decode.py's base64 decoder as it was: both alphabets tried in turn (the reference)."""
    import base64
    import binascii

    body = run.rstrip("=")
    for alt in (None, b"-_"):
        try:
            data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        printable = lambda s: sum(c.isprintable() or c in "\n\t" for c in s)  # noqa: E731
        s = D._utf8_or_gbk(data)
        if s and printable(s) >= 0.9 * len(s) and sum(c.isalpha() for c in s) >= 3:
            return s
    return None


def test_one_base64_alphabet_try_decides_as_both_did(texts):
    import base64

    rng = random.Random(11)
    runs = [m.group() for text in texts for m in D._SUBSTITUTIONS[7][1].finditer(text)]
    for _ in range(3000):
        data = bytes(rng.choice([rng.randrange(256), rng.randrange(32, 127)]) for _ in range(rng.randint(12, 40)))
        if rng.random() < 0.5:
            data = rng.choice(SNIPPETS).encode() + data[:rng.randint(0, 8)]
        enc = rng.choice([base64.b64encode, base64.urlsafe_b64encode])(data).decode()
        runs.append(enc.rstrip("=") if rng.random() < 0.3 else enc)
    decoded = 0
    for run in runs:
        m = D._SUBSTITUTIONS[7][1].fullmatch(run)
        if m is None:
            continue
        worth = D._NOT_A_WORD.search(run) or (D._LOWER.search(run) and D._UPPER.search(run))
        expected = _base64_both_alphabets(run) if worth else None
        assert D._base64(m) == expected, run
        decoded += expected is not None
    assert decoded > 100


def test_utf8_or_gbk_decides_as_strict_decoding_did():
    def strict(data):  # the reference: each encoding tried strictly in turn
        for enc in ("utf-8", "gbk"):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                pass
        return None

    rng = random.Random(3)
    samples = [s.encode(enc) for s in SNIPPETS + ["\ufffd ok", "a\ufffd\ufffdb", "炸弹\ufffd"] for enc in ("utf-8", "gbk")
               if enc == "utf-8" or "\ufffd" not in s]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 24))) for _ in range(3000)]
    samples += [rng.choice(samples[:40]) + bytes([rng.randrange(128, 256)]) for _ in range(300)]
    for data in samples:
        assert D._utf8_or_gbk(data) == strict(data), data


def test_a_one_character_quick_term_is_read_whole(tmp_path, texts):
    (tmp_path / "odd.txt").write_text("0o\ncodename bluebird\n", encoding="utf-8")  # '0o' reads 'o' in the quick view
    kf = KeywordFilter([tmp_path])
    lists, t = kf._lists, tables()
    assert lists.quick_prefixes.short and lists.quick_prefixes.packed() is None  # any text may hold it: numpy reads
    for text in texts[:400] + ["", "o", "a b c", "c0dename blue-bird"]:
        codes = quick_codes(raw_codes(text), t.quick)
        whole = next(lists.quick.iter(to_str(codes)), None) is not None
        assert K._any(lists.quick_prefixes, lists.quick, text, t.quick, None) == whole
    assert [m.term for m in kf.scan("the c0dename blue-bird")] == ["codename bluebird"]


def _encoded_texts(seed: int, n: int):
    """Text around base64, hex and character-code runs of readable and of random data (the runs the
    compiled scanner's exact rejection must keep where a decoder accepts them)."""
    import base64

    rng = random.Random(seed)
    for _ in range(n):
        if rng.random() < 0.5:
            data = rng.choice(SNIPPETS + ["炸弹制作", "hello there friend", "ab"]).encode(rng.choice(["utf-8", "gbk"]), "replace")
        else:
            data = bytes(rng.choice([rng.randrange(256), rng.randrange(32, 127), rng.randrange(0x81, 0xFF)])
                         for _ in range(rng.randint(4, 30)))
        kind = rng.randrange(3)
        if kind == 0:
            run = rng.choice([base64.b64encode, base64.urlsafe_b64encode])(data).decode()
            run = run.rstrip("=") if rng.random() < 0.3 else run
        elif kind == 1:
            sep = rng.choice(["", " ", ":", ",", "  "])
            run = sep.join(("0x" if rng.random() < 0.1 else "") + f"{b:02x}" for b in data)
        else:
            text = data.decode("utf-8", "replace")
            run = rng.choice([" ", ", ", ";"]).join(str(ord(c)) for c in text)
        noise = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 6)))
        yield rng.choice(["", "see ", "x=", "(", "7 ", "value: "]) + run + rng.choice(["", " ok", ".", "=", "1"]) + noise


_PLAUSIBLE = [(name, D._PLAUSIBLE[name], pattern, decode, bit, min_len)
              for name, pattern, decode, bit, min_len in D._SUBSTITUTIONS if name in D._PLAUSIBLE]


@needs_compiled
def test_plausible_runs_drop_only_runs_no_decoder_accepts(texts):
    """plausible_runs keeps a subset of the class runs, and in every run it drops, each match of the
    decoder's regex decodes to nothing (so dropping it changes no answer)."""
    dropped = kept_and_decoded = 0
    for text in texts + list(_encoded_texts(5, 3000)):
        for name, which, pattern, decode, bit, min_len in _PLAUSIBLE:
            runs = D.gates(text)[3].get(bit, [])
            kept = compiled.plausible_runs(text, runs, min_len, which)
            assert set(kept) <= set(runs) and kept == [r for r in runs if r in kept], (name, text[:80])
            for a, b in runs:
                decoded = [decode(m) for m in pattern.finditer(text, max(a - 1, 0), min(b + 1, len(text)))]
                if (a, b) in kept:
                    kept_and_decoded += any(decoded)
                else:
                    assert not any(decoded), (name, text[a:b])
                    dropped += 1
    assert dropped > 300 and kept_and_decoded > 300  # both sides were exercised


def test_gbk_needs_a_trail_byte_from_0x40_for_every_byte_from_0x80():
    """What the compiled scanner's rejection assumes of Python's GBK codec (guard/_fastscan.c push)."""
    for lead in range(0x80, 0x100):
        with pytest.raises(UnicodeDecodeError):
            bytes([lead]).decode("gbk")
        for trail in [*range(0x40), 0x7F, 0xFF]:
            with pytest.raises(UnicodeDecodeError):
                bytes([lead, trail]).decode("gbk")


@needs_compiled
def test_decodings_equal_the_numpy_decodings(texts, monkeypatch):
    cases = texts + list(_encoded_texts(9, 1500))

    def all_decodings():
        return [[(d.name, d.text, d.starts.tolist(), d.ends.tolist()) for d in D.decodings(text)] for text in cases]

    fast = all_decodings()
    monkeypatch.setattr(fastscan, "compiled", None)
    assert fast == all_decodings()
    assert sum(map(bool, fast)) > 1000


def _cipher_candidates_chunk_by_chunk(text, low):
    """decode.py's long-text cipher test as it was, one chunk at a time (the reference)."""
    sample = D._SAMPLE if len(text) > 4 * D._CHUNK else 1
    counts = D._chunk_counts(text, low, sample, D._CHUNK // sample)
    totals = counts.sum(axis=1)
    found = {}
    margin = 1.0 if sample == 1 else 0.6
    for i in np.flatnonzero(totals >= D._MIN_LETTERS):
        freq = counts[i] / totals[i]
        fits = ((freq[None, :] - D._SHIFTS) ** 2 / D._SHIFTS).sum(axis=1)
        atbash = float(((freq - D._ATBASH) ** 2 / D._ATBASH).sum())
        best = int(fits.argmin())
        if best != 0 and fits[best] < margin * fits[0]:
            found.setdefault(("caesar", best), []).append(int(i))
        if atbash < margin * fits[0]:
            found.setdefault(("atbash", 0), []).append(int(i))
    return found


def test_cipher_chunks_tested_together_decide_as_one_by_one(texts):
    """All chunks of a long text tested in one numpy expression give what the loop over them gave,
    on the texts and on long ones mixing English, shifted and reversed letters chunk by chunk."""
    rng = random.Random(5)
    cases = [t for t in texts if len(t) > D._CHUNK] + ["\n\n".join(texts[-200:])]
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(2, 12)):
            piece = "".join(rng.choice(texts[-200:]) for _ in range(2))[: rng.randint(300, 5000)]
            kind, k = rng.choice([("caesar", rng.randint(1, 25)), ("atbash", 0), ("plain", 0)])
            parts.append(piece if kind == "plain" else piece.translate(D._letter_cipher(kind, k)))
        cases.append(" ".join(parts))
    found = 0
    for text in cases:
        low = np.minimum(raw_codes(text), 0x7F).astype(np.uint8)
        expected = _cipher_candidates_chunk_by_chunk(text, low)
        assert D._cipher_candidates(text, low) == expected
        if compiled is not None:
            assert D._cipher_candidates(text, None) == expected
        found += len(expected)
    assert found > 40


@pytest.mark.skipif(not hasattr(compiled, "mtime_ns"), reason="the compiled mtime_ns is built on Linux only")
def test_mtime_ns_is_what_os_stat_says(tmp_path):
    import os

    (tmp_path / "a.txt").write_text("x")
    for path in (tmp_path, str(tmp_path), tmp_path / "a.txt", tmp_path / "missing", tmp_path / "a.txt" / "below"):
        try:
            expected = os.stat(path).st_mtime_ns
        except OSError:
            expected = None
        assert compiled.mtime_ns(path) == expected, path
    with pytest.raises(TypeError):
        compiled.mtime_ns(3.5)


@needs_compiled
def test_quick_index_equals_the_numpy_codes_and_offsets(texts):
    from guard.normalize import quick_codes_index

    t = tables()
    for text in texts:
        for table in (t.quick, t.quick_leet):
            codes, index = compiled.quick_index(text, table, t.quick_exp_text[id(table)])
            want_codes, want_index = quick_codes_index(raw_codes(text), table)
            assert np.array_equal(np.frombuffer(codes, dtype=np.int32), want_codes), text[:80]
            assert np.array_equal(np.frombuffer(index, dtype=np.int64), want_index), text[:80]


def _matches_window_by_window(prefixes, codes, automaton):
    """Prefixes.matches as it was: the automaton over each candidate's window apart (the reference)."""
    n = prefixes.longest
    windows = [(0, len(codes))] if prefixes.short else sorted(
        {(max(s - n, 0), s + 2 * n) for s in prefixes.candidates(codes).tolist()})
    return spans_in(windows, codes, automaton, to_str)


def test_matches_over_merged_windows_equal_window_by_window(kf, texts):
    lists, t = kf._lists, tables()
    found = 0
    for text in texts + ["\n".join(texts[:300])]:
        for prefixes, automaton, table in ((lists.quick_prefixes, lists.quick, t.quick),
                                           (lists.leet_prefixes, lists.deny["leet"], t.quick_leet)):
            codes = quick_codes(raw_codes(text), table)
            got = prefixes.matches(codes, automaton, to_str)
            assert got == _matches_window_by_window(prefixes, codes, automaton), text[:80]
            found += len(got)
    assert found > 100


@needs_compiled
def test_near_answers_as_the_automaton_over_the_numpy_windows(kf, texts):
    """The quick leet view around the characters it reads unlike the quick view (Tables.leet_marks)."""
    prefixes, automaton, t = kf._lists.leet_prefixes, kf._lists.deny["leet"], tables()
    found = 0
    for text in texts:
        raw = raw_codes(text)
        codes, index = quick_codes_index(raw, t.quick_leet)
        for reach in (0, 3, prefixes.longest):
            got = compiled.near(text, t.quick_leet, t.quick_leet_stops, t.quick_exp_text[id(t.quick_leet)], reach,
                                prefixes.packed())
            joined = near_windows(codes, index, leet_marked(raw), reach)
            if joined is not None and next(automaton.iter(to_str(joined)), None) is not None:
                assert got, (text[:80], reach)  # every term in the windows is found,
            if got:  # and one found is a term of the view (its gram may only start in a window)
                assert prefixes.any_match(codes, automaton, to_str), (text[:80], reach)
        found += got
    assert found > 300


def test_near_windows_hold_the_view_around_each_marked_character():
    """near_windows, the reference: [v - reach, w + reach) of the view around each marked one."""
    t = tables()
    text = "ab@cd  efgh\u00d7ij"  # '@' and '×' are marked
    raw = raw_codes(text)
    codes, index = quick_codes_index(raw, t.quick_leet)
    assert to_str(codes) == "abacdefghxij" and leet_marked(raw).tolist() == [2, 11]
    assert to_str(near_windows(codes, index, leet_marked(raw), 1)) == "bac\0hxi\0"
    assert to_str(near_windows(codes, index, leet_marked(raw), 4)) == "abacdefghxij\0"
    assert near_windows(codes, index, leet_marked(raw_codes("plain")), 4) is None


def test_an_unmarked_character_reads_the_same_in_both_quick_views():
    """What guard/keywords.py _any_leet relies on: away from Tables.leet_marks the two views agree."""
    t = tables()
    unmarked = ~t.leet_marks
    assert np.array_equal(t.quick[unmarked], t.quick_leet[unmarked])
    rest = t.quick_exp[id(t.quick)], t.quick_exp[id(t.quick_leet)]
    for cp in np.flatnonzero(unmarked & (t.quick == -2)).tolist():  # folding to several: the same characters
        assert np.array_equal(rest[0][cp], rest[1][cp]), hex(cp)
    assert t.leet_marks[[ord(c) for c in "@$!|+€£¢＠×"]].all()
    assert np.array_equal(t.quick_leet_stops == -3, t.leet_marks)  # where the compiled near() stops
    assert np.array_equal(t.quick_leet_stops[unmarked], t.quick_leet[unmarked])


def test_deciphering_the_utf8_bytes_equals_str_translate(texts):
    cases = texts + ["\ud800 a lone surrogate, Abc", "𝐛 astral Zz", "ＡＢＣ full-width", ""]
    for i, text in enumerate(cases):
        for kind, k in [("atbash", 0), ("caesar", 1 + i % 25), ("caesar", 13)]:
            assert D._deciphered(text, kind, k) == text.translate(D._letter_cipher(kind, k)), (text[:80], kind, k)


def _near_by_numpy(text, mark):
    """decode.py _near as it was: the marks' positions from the code points, clustered with numpy (the reference)."""
    at = np.flatnonzero(raw_codes(text) == ord(mark))
    if not len(at):
        return []
    breaks = np.flatnonzero(np.diff(at) > D._GATE_REACH)
    firsts, lasts = np.concatenate(([at[0]], at[breaks + 1])), np.concatenate((at[breaks], [at[-1]]))
    return [(int(a), min(int(b) + D._GATE_REACH, len(text))) for a, b in zip(firsts, lasts)]


def test_mark_windows_found_one_by_one_equal_the_numpy_windows(texts):
    rng = random.Random(13)
    cases = texts + ["".join(rng.choice("&%\\ab \u70b8") for _ in range(rng.randint(0, 400))) for _ in range(400)]
    cases += ["&" * 100, "a&" * 80, "&" + " " * 16 + "&" + " " * 17 + "&"]  # many marks: numpy; gaps at the edge
    for text in cases:
        for mark in "\\%&":
            assert D._near(text, mark, lambda: raw_codes(text)) == _near_by_numpy(text, mark), (text[:80], mark)


def test_a_decoded_span_is_what_its_arrays_say(texts):
    """Decoded.span reads the segments; starts and ends spell them out per character."""
    checked = 0
    for text in texts[:3000] + list(_encoded_texts(4, 300)):
        for d in D.decodings(text):
            assert len(d.starts) == len(d.ends) == len(d.text)
            for start in range(0, len(d.text), 7):
                for end in (start + 1, min(start + 40, len(d.text))):
                    assert d.span(start, end) == (int(d.starts[start]), int(d.ends[end - 1]))
                    checked += 1
    assert checked > 1000
