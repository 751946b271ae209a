#!/usr/bin/env python3
"""Reports what can be checked offline of a hybrid PDF/A-3b e-invoice
(there is no veraPDF here): one JSON line per file with

  header_binary   the second line is a comment of bytes >= 128 (6.1.2)
  file_id         the trailer has an /ID (6.1.3)
  pdfaid          part and conformance from the XMP metadata
  fx              the Factur-X properties from the XMP (fx: namespace)
  fx_schema       the fx: properties the PDF/A extension schemas declare
  output_intents  [{S, N of the ICC profile}] from the catalog
  fonts           [{name, subtype, embedded, subset}] of every page
  af              [{name, relationship, subtype}] of the catalog's /AF
  embedded        {name: XML text} from the EmbeddedFiles name tree
  text            the text extracted from every page

Usage: pdfa_check.py FILE.pdf...   (PyPI pypdf, lxml)
"""

import json
import re
import sys

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import IndirectObject

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    "fx": FX,
}


def resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def xmp_facts(catalog):
    meta = resolve(catalog.get("/Metadata"))
    if meta is None:
        return {}, {}, []
    root = etree.fromstring(meta.get_data())

    def first(path):
        hits = root.xpath(path, namespaces=NS)
        return str(hits[0]).strip() if hits else None

    pdfaid = {
        "part": first("//@pdfaid:part | //pdfaid:part/text()"),
        "conformance": first("//@pdfaid:conformance | //pdfaid:conformance/text()"),
    }
    fx = {
        name: first(f"//fx:{name}/text()")
        for name in ("DocumentType", "DocumentFileName", "Version", "ConformanceLevel")
    }
    schema = root.xpath(
        "//pdfaExtension:schemas//rdf:li[pdfaSchema:namespaceURI = $ns]",
        ns=FX,
        namespaces=NS,
    )
    declared = []
    if schema:
        declared = [str(n) for n in schema[0].xpath(
            ".//pdfaProperty:name/text()", namespaces=NS)]
        declared.append("prefix=" + "".join(schema[0].xpath(
            "pdfaSchema:prefix/text()", namespaces=NS)))
    return pdfaid, fx, declared


def fonts_of(reader):
    found = {}
    for page in reader.pages:
        resources = resolve(page.get("/Resources")) or {}
        for ref in (resolve(resources.get("/Font")) or {}).values():
            font = resolve(ref)
            name = str(font.get("/BaseFont"))
            descriptor = None
            if font.get("/Subtype") == "/Type0":
                descendant = resolve(resolve(font["/DescendantFonts"])[0])
                descriptor = resolve(descendant.get("/FontDescriptor"))
            else:
                descriptor = resolve(font.get("/FontDescriptor"))
            embedded = descriptor is not None and any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[name] = {
                "name": name,
                "subtype": str(font.get("/Subtype")),
                "embedded": embedded,
                "subset": bool(re.match(r"^/[A-Z]{6}\+", name)),
            }
    return list(found.values())


def check(path):
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.split(b"\n", 2)
    reader = PdfReader(path)
    catalog = reader.trailer["/Root"].get_object()
    pdfaid, fx, fx_schema = xmp_facts(catalog)
    intents = []
    for intent in resolve(catalog.get("/OutputIntents")) or []:
        intent = resolve(intent)
        profile = resolve(intent.get("/DestOutputProfile"))
        intents.append({
            "S": str(intent.get("/S")),
            "N": int(profile.get("/N")) if profile is not None else None,
        })
    af = []
    for spec in resolve(catalog.get("/AF")) or []:
        spec = resolve(spec)
        stream = resolve(resolve(spec["/EF"])["/F"])
        af.append({
            "name": str(spec.get("/UF") or spec.get("/F")),
            "relationship": str(spec.get("/AFRelationship")),
            "subtype": str(stream.get("/Subtype")),
        })
    embedded = {name: data[0].decode("utf-8")
                for name, data in reader.attachments.items()}
    return {
        "file": path,
        "header_binary": len(lines) > 1 and lines[1].startswith(b"%")
        and len(lines[1]) >= 5 and all(b >= 128 for b in lines[1][1:5]),
        "file_id": "/ID" in reader.trailer,
        "pdfaid": pdfaid,
        "fx": fx,
        "fx_schema": fx_schema,
        "output_intents": intents,
        "fonts": fonts_of(reader),
        "af": af,
        "embedded": embedded,
        "text": "\n".join(page.extract_text() for page in reader.pages),
    }


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(json.dumps(check(path)), flush=True)
