#!/usr/bin/env python3
"""Prints, as one JSON list per file, the text of every QR code on the
pages of each PDF given: rendered with pdfium (PyPI pypdfium2), read with
ZXing (PyPI zxing-cpp), as a banking app's camera would.

Usage: pdf_qr.py FILE.pdf...
"""

import json
import sys

import pypdfium2
import zxingcpp


def codes(path):
    found = []
    pdf = pypdfium2.PdfDocument(path)
    for page in pdf:
        image = page.render(scale=3).to_pil()
        for result in zxingcpp.read_barcodes(image):
            found.append(result.text)
    return found


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(json.dumps({"file": path, "qr": codes(path)}), flush=True)
