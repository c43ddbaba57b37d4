"""Text files in the encodings people's editors write: detected, indexed, and the encoding shown in the result."""

import codecs
import json

import pytest

from core.errors import DocumentLoadError
from rag import load_document
from rag.formats import decode_text

REPORT = {
    "gb18030": "上海证券交易所今日发布公告，公司第三季度营业收入同比增长百分之十二，净利润达到三亿元。",
    "big5": "臺灣證券交易所今日公告，公司第三季營業收入較去年同期成長百分之十二，淨利達三億元。",
    "shift_jis": "東京証券取引所は本日、第3四半期の売上高が前年同期比12％増加したと発表しました。",
    "euc_kr": "한국거래소는 오늘 3분기 매출이 전년 동기 대비 12% 증가했다고 발표했습니다.",
    "cp1252": "Café résumé: revenue rose to €100 million — naïve estimates were “too low”.",
}


@pytest.mark.parametrize("encoding", sorted(REPORT))
def test_legacy_encodings_are_detected(encoding):
    text = REPORT[encoding]
    assert decode_text(text.encode("gbk" if encoding == "gb18030" else encoding)) == (text, encoding)


@pytest.mark.parametrize("bom,codec,name", [
    (codecs.BOM_UTF8, "utf-8", "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"), (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
])
def test_byte_order_marks_say_the_encoding(bom, codec, name):
    text = "Windows Notepad 的“Unicode”：营业收入 €12"
    assert decode_text(bom + text.encode(codec)) == (text, name)


def test_plain_utf8_and_a_short_chinese_text_prefer_the_users_encodings():
    assert decode_text("营业收入".encode("utf-8")) == ("营业收入", "utf-8")
    assert decode_text("营业收入".encode("gbk")) == ("营业收入", "gb18030")  # fits EUC-KR bytes just as well


def test_undecidable_bytes_fail_alone_with_the_file_named(tmp_path):
    bad = tmp_path / "noise.txt"
    bad.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(DocumentLoadError, match=r"^noise.txt: this text is in no encoding Hearth reads .*UTF-8"):
        load_document(bad)


def test_a_gbk_and_a_utf16_file_are_indexed_and_found(hearth, tmp_path):
    from conftest import run_cli

    gbk = tmp_path / "季度报告.txt"
    gbk.write_bytes(REPORT["gb18030"].encode("gbk"))
    notepad = tmp_path / "notes.txt"
    notepad.write_bytes(codecs.BOM_UTF16_LE + "Quarterly revenue grew 12 percent to 3 billion.".encode("utf-16-le"))
    results = {r.file.rsplit("/", 1)[-1]: r for r in hearth.ingest([gbk, notepad])}
    assert results["季度报告.txt"].status == "indexed" and results["季度报告.txt"].encoding == "gb18030"
    assert results["notes.txt"].encoding == "utf-16"
    assert hearth.search("营业收入增长", k=1)[0].file == "季度报告.txt"
    r = run_cli("ingest", "--json", str(gbk), env={"HEARTH_DATA_DIR": str(tmp_path / "cli-data")})
    assert json.loads(r.stdout)[0]["encoding"] == "gb18030"
