"""Where OCR read each piece of a scanned page: RapidOCR's boxes kept in reading order with their offsets in the
page's text, and a passage's boxes chosen by its offsets. Pure functions, literal boxes."""

import json

from rag.ocr import chunk_boxes, read_boxes

# RapidOCR's result: [box (four corners, clockwise from top left), text, score], in no particular order
RESULT = [
    [[[300, 10], [380, 10], [380, 30], [300, 30]], "million", 0.9],
    [[[10, 12], [290, 12], [290, 32], [10, 32]], "Revenue was 42", 0.95],
    [[[10, 60], [200, 60], [200, 80], [10, 80]], "Net income 7", 0.9],
    [[[10, 100], [100, 100], [100, 120], [10, 120]], "smudge", 0.2],
]


def test_pieces_are_read_in_lines_and_each_box_knows_its_text_span():
    page = read_boxes(RESULT, (400, 200))
    assert page.text == "Revenue was 42 million\nNet income 7"
    assert [page.text[a:b] for a, b, *_ in page.boxes] == ["Revenue was 42", "million", "Net income 7"]
    assert page.boxes[0][2:] == (0.025, 0.06, 0.725, 0.16)  # fractions of the image: left, top, right, bottom
    assert read_boxes([], (400, 200)).text == ""


def test_a_passage_gets_the_boxes_its_offsets_cover_on_each_of_its_pages():
    boxes = {1: read_boxes(RESULT, (400, 200)).boxes, 2: ((0, 5, 0.1, 0.1, 0.2, 0.2),)}
    assert json.loads(chunk_boxes(boxes, 1, 15, 1, 22)) == {"1": [[0.75, 0.05, 0.95, 0.15]]}  # "million"
    assert len(json.loads(chunk_boxes(boxes, 1, 0, 1, 0))["1"]) == 3  # to the page's end
    assert json.loads(chunk_boxes(boxes, 1, 23, 2, 3)) == {"1": [[0.025, 0.3, 0.5, 0.4]], "2": [[0.1, 0.1, 0.2, 0.2]]}
    assert chunk_boxes(boxes, 3, 0, 3, 10) == ""
